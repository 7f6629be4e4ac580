/**
 * The commands scsi-hd / scsi-cd answer from their own state (QEMU hw/scsi/scsi-disk.c
 * scsi_disk_emulate_command, scsi_disk_emulate_read_data, scsi_disk_emulate_write_data):
 * everything but READ/WRITE, including unknown opcodes (INVALID COMMAND OPERATION CODE).
 *
 * Order of checks, as QEMU: no medium (NOT READY, MEDIUM NOT PRESENT) for all but INQUIRY,
 * MODE SENSE, RESERVE/RELEASE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, MECHANISM STATUS and REQUEST SENSE; then an
 * allocation/parameter length above 64 KiB is INVALID FIELD; then the opcode.
 *
 * Data-in commands transfer exactly the allocation length (the answer zero-padded), as
 * QEMU does; data-out commands (MODE SELECT, UNMAP, WRITE SAME, FORMAT UNIT) act once the
 * parameter data has arrived. A command with no data completes GOOD during sendCommand,
 * except SYNCHRONIZE CACHE, which waits for the drive's flush.
 *
 * Not answered, as in QEMU: SYNCHRONIZE CACHE(16) (not in scsi-disk's command table) and
 * WRITE SAME with NDOB=1 (no data-out buffer, so it completes GOOD without writing).
 */
import { put32, put64 } from '../../../hw/scsi/bytes.js';
import { SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import * as op from '../scsi-bus/defs.js';
import type { ScsiReqHandler, ScsiRequest } from '../scsi-bus/request.js';
import { emulateGesn, emulateGetConfiguration, emulateMechanismStatus, emulateReadDiscInformation, emulateReadDvdStructure, emulateReadToc, type MmcResult } from './cdrom.js';
import { emulateInquiry } from './inquiry.js';
import { ReqIo } from './io.js';
import { emulateModeSelect, emulateModeSense } from './mode.js';
import { emulateUnmap, emulateWriteSame } from './provisioning.js';
import { available, nbSectors, type ScsiDiskState } from './state.js';

/** Commands that need no medium. */
const NO_MEDIUM_OK = new Set([
  op.INQUIRY, op.MODE_SENSE, op.MODE_SENSE_10, op.RESERVE, op.RESERVE_10, op.RELEASE, op.RELEASE_10, op.START_STOP,
  op.ALLOW_MEDIUM_REMOVAL, op.GET_CONFIGURATION, op.GET_EVENT_STATUS_NOTIFICATION, op.MECHANISM_STATUS, op.REQUEST_SENSE,
]);

/** get_physical_block_exp: log2(physical / logical block size). */
function physicalBlockExp(s: ScsiDiskState): number {
  let exp = 0;
  for (let size = s.conf.physical_block_size; size > s.conf.logical_block_size; size >>= 1) exp++;
  return exp;
}

export function emulateHandler(s: ScsiDiskState, req: ScsiRequest): ScsiReqHandler {
  const cdb = req.cmd.buf;
  const xfer = req.cmd.xfer;
  const io = new ReqIo(s, req);
  let out = new Uint8Array(0);
  let iovLen = 0;
  let inbuf: Uint8Array | undefined;

  /** scsi_check_condition, unless the command already completed (QEMU's `status == -1` test). */
  const fail = (sense: op.SenseCode): number => {
    if (req.status === -1) req.checkCondition(sense);
    return 0;
  };
  const mmc = (r: MmcResult): number => (typeof r === 'number' ? (r < 0 ? fail(op.SENSE.INVALID_FIELD) : 0) : fail(r.sense));

  /** The READ CAPACITY answers: the last LBA, or undefined (a CHECK CONDITION was sent). */
  function lastLba(pmi: boolean): number | undefined {
    const nb = nbSectors(s);
    if (!nb) return void fail(op.SENSE.LUN_NOT_READY);
    if (!pmi && req.cmd.lba) return void fail(op.SENSE.INVALID_FIELD);
    const last = Math.floor(nb / (s.blocksize / 512)) - 1;
    s.maxLba = last; // remembered for the range checks
    return last;
  }

  /** Returns false when it completed the request with CHECK CONDITION. */
  function startStop(): boolean {
    const start = (cdb[4] & 1) !== 0;
    const loej = (cdb[4] & 2) !== 0;
    if (cdb[4] & 0xf0) return true; // a power condition: no load/eject
    if (s.conf.removable && loej) {
      if (!start && !s.trayOpen && s.trayLocked) {
        req.checkCondition(s.backend !== undefined ? op.SENSE.ILLEGAL_REQ_REMOVAL_PREVENTED : op.SENSE.NOT_READY_REMOVAL_PREVENTED);
        return false;
      }
      if (s.trayOpen !== !start) s.trayOpen = !start;
    }
    return true;
  }

  /** The opcode switch; a negative number is "already completed". */
  function command(): number {
    switch (cdb[0]) {
      case op.TEST_UNIT_READY:
        return 0;
      case op.INQUIRY:
        return emulateInquiry(s, cdb, xfer, req.bus.info.tcq, out) < 0 ? fail(op.SENSE.INVALID_FIELD) : 0;
      case op.MODE_SENSE:
      case op.MODE_SENSE_10: {
        const r = emulateModeSense(s, cdb, out);
        return 'sense' in r ? fail(r.sense) : 0;
      }
      case op.READ_TOC:
        return emulateReadToc(s, cdb, out) < 0 ? fail(op.SENSE.INVALID_FIELD) : 0;
      case op.RESERVE:
      case op.RELEASE:
        return cdb[1] & 1 ? fail(op.SENSE.INVALID_FIELD) : 0;
      case op.RESERVE_10:
      case op.RELEASE_10:
        return cdb[1] & 3 ? fail(op.SENSE.INVALID_FIELD) : 0;
      case op.START_STOP:
        return startStop() ? 0 : -1;
      case op.ALLOW_MEDIUM_REMOVAL:
        s.trayLocked = (cdb[4] & 1) !== 0;
        return 0;
      case op.READ_CAPACITY_10: {
        const last = lastLba((cdb[8] & 1) !== 0);
        if (last === undefined) return -1;
        put32(out, 0, Math.min(last, 0xffff_ffff)); // clipped at 2 TiB, not modulo
        out[6] = (s.blocksize >> 8) & 0xff;
        return 0;
      }
      case op.REQUEST_SENSE:
        out.set(op.buildSense(op.SENSE.NO_SENSE, (cdb[1] & 1) === 0 ? 'fixed' : 'descriptor', out.length));
        return 0;
      case op.MECHANISM_STATUS:
        return mmc(emulateMechanismStatus(s, out));
      case op.GET_CONFIGURATION:
        return mmc(emulateGetConfiguration(s, out));
      case op.GET_EVENT_STATUS_NOTIFICATION:
        return mmc(emulateGesn(s, cdb, out));
      case op.READ_DISC_INFORMATION:
        return mmc(emulateReadDiscInformation(s, cdb, out));
      case op.READ_DVD_STRUCTURE:
        return mmc(emulateReadDvdStructure(s, cdb, out));
      case op.SERVICE_ACTION_IN_16: {
        if ((cdb[1] & 31) !== op.SAI_READ_CAPACITY_16) return fail(op.SENSE.INVALID_FIELD);
        const last = lastLba((cdb[14] & 1) !== 0);
        if (last === undefined) return -1;
        put64(out, 0, last);
        out[10] = (s.blocksize >> 8) & 0xff;
        out[13] = physicalBlockExp(s);
        if (s.conf.discard_granularity) out[14] = 0x80; // TPE: thin provisioning enabled
        return 0;
      }
      case op.SYNCHRONIZE_CACHE:
        io.flushThenGood();
        return -1;
      case op.SEEK_10:
        return req.cmd.lba > s.maxLba ? (req.checkCondition(op.SENSE.LBA_OUT_OF_RANGE), -1) : 0;
      case op.MODE_SELECT:
      case op.MODE_SELECT_10:
      case op.UNMAP:
      case op.WRITE_SAME_10:
      case op.WRITE_SAME_16:
      case op.FORMAT_UNIT:
        return 0;
      case op.VERIFY_10:
      case op.VERIFY_12:
      case op.VERIFY_16:
        return cdb[1] & 6 ? fail(op.SENSE.INVALID_FIELD) : 0; // BYTCHK: only scsi-block compares
      default:
        req.checkCondition(op.SENSE.INVALID_OPCODE);
        return -1;
    }
  }

  function writeData(): void {
    inbuf ??= req.dataOut(iovLen);
    switch (cdb[0]) {
      case op.MODE_SELECT:
      case op.MODE_SELECT_10: {
        const err = emulateModeSelect(s, cdb, inbuf);
        if (err) return req.checkCondition(err);
        if (!s.wce) return io.flushThenGood(); // the cache was just turned off: write it back
        return req.complete(SAM_STAT_GOOD);
      }
      case op.UNMAP:
        return emulateUnmap(s, req, io, inbuf);
      case op.WRITE_SAME_10:
      case op.WRITE_SAME_16:
        return emulateWriteSame(s, req, io, inbuf);
      case op.VERIFY_10:
      case op.VERIFY_12:
      case op.VERIFY_16:
        return req.checkCondition(op.SENSE.INVALID_FIELD);
      default: // FORMAT UNIT
        return req.complete(SAM_STAT_GOOD);
    }
  }

  return {
    sendCommand() {
      if (!NO_MEDIUM_OK.has(cdb[0]) && !available(s)) return fail(op.SENSE.NO_MEDIUM);
      // QEMU sizes its buffer by the allocation length, so it refuses more than 64 KiB.
      if (xfer > 65536) return fail(op.SENSE.INVALID_FIELD);
      out = new Uint8Array(Math.max(4096, xfer));
      if (command() !== 0 || req.status !== -1) return 0;
      iovLen = Math.min(out.length, xfer);
      if (iovLen === 0) {
        req.complete(SAM_STAT_GOOD);
        return 0;
      }
      return req.cmd.mode === 'to-dev' ? -iovLen : iovLen;
    },
    continue() {
      if (req.cmd.mode === 'to-dev') return writeData();
      if (iovLen > 0) req.dataIn(out.subarray(0, iovLen));
      iovLen = 0;
      req.complete(SAM_STAT_GOOD);
    },
    cancelIo: () => io.inFlight,
  };
}
