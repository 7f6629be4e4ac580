/**
 * READ and WRITE (6/10/12/16) and WRITE AND VERIFY (10/12/16): QEMU's scsi_disk_dma_reqops
 * (hw/scsi/scsi-disk.c scsi_disk_dma_command, scsi_read_data, scsi_write_data and their
 * completions), on the scatter-gather path an HBA like virtio-scsi uses.
 *
 * The command is checked first (no medium, write protection, RDPROTECT/WRPROTECT bits
 * with SCSI version > 2 → INVALID FIELD, the range against the last LBA → LBA OUT OF
 * RANGE); a transfer of 0 blocks completes GOOD at once. The data then moves between the
 * HBA's buffer and the drive in one pass, as backend requests of at most DMA_CHUNK bytes
 * issued one after another (QEMU's dma_blk_io maps and submits the list in pieces too).
 *
 * FUA (the FUA bit of READ/WRITE 10/12/16, and every WRITE AND VERIFY) is emulated as QEMU
 * does: a flush before the read, or after the write. With the write cache off every write
 * is written through (FUA to the drive).
 */
import { SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import { dataCdbXfer } from '../scsi-bus/cdb.js';
import * as op from '../scsi-bus/defs.js';
import type { ScsiReqHandler, ScsiRequest } from '../scsi-bus/request.js';
import { handleRwError } from './errors.js';
import { ReqIo } from './io.js';
import { available, lbaRangeOk, writable, type ScsiDiskState } from './state.js';

/** Largest backend request one command's data is split into. */
export const DMA_CHUNK = 4 * 1024 * 1024;

/** scsi_is_cmd_fua. */
function isCmdFua(cdb: Uint8Array): boolean {
  switch (cdb[0]) {
    case op.READ_10:
    case op.READ_12:
    case op.READ_16:
    case op.WRITE_10:
    case op.WRITE_12:
    case op.WRITE_16:
      return (cdb[1] & 8) !== 0;
    case op.WRITE_VERIFY_10:
    case op.WRITE_VERIFY_12:
    case op.WRITE_VERIFY_16:
      return true;
    default:
      return false;
  }
}

const NO_MEDIUM: BlockIoError = { errno: 'ENOMEDIUM', message: 'No medium found' };

export function dmaHandler(s: ScsiDiskState, req: ScsiRequest): ScsiReqHandler {
  const cdb = req.cmd.buf;
  const isWrite = cdb[0] !== op.READ_6 && cdb[0] !== op.READ_10 && cdb[0] !== op.READ_12 && cdb[0] !== op.READ_16;
  /** In 512-byte sectors, as QEMU's SCSIDiskReq. */
  let sector = 0;
  let sectorCount = 0;
  let needFua = false;
  let started = false;

  const io = new ReqIo(s, req);
  const fail = (sense: op.SenseCode): number => {
    req.checkCondition(sense);
    return 0;
  };

  function flushThen(next: () => void): void {
    s.backend!.flush(io.cb(() => next()));
  }

  /** Move all the data, chunk by chunk, then `finish`. */
  function transfer(finish: () => void): void {
    const total = sectorCount * 512;
    const base = sector * 512;
    req.residual = req.dataSize - Math.min(req.dataSize, total);
    const step = (done: number): void => {
      if (done >= total) {
        finish();
        return;
      }
      const n = Math.min(DMA_CHUNK, total - done);
      // An ignored error ends the transfer as if it had all worked (dma_blk_io stops at the first error).
      if (isWrite) {
        const buf = new Uint8Array(n);
        req.dmaRead(done, buf);
        s.backend!.write(base + done, buf, { fua: !s.wce }, io.cb((ignored) => (ignored ? finish() : step(done + n))));
      } else {
        s.backend!.read(
          base + done,
          n,
          io.cb<Uint8Array>((ignored, data) => {
            if (ignored) return finish();
            if (data) req.dmaWrite(done, data.subarray(0, n));
            step(done + n);
          }),
        );
      }
    };
    step(0);
  }

  function complete(): void {
    sector += sectorCount;
    sectorCount = 0;
    if (isWrite && needFua) flushThen(() => req.complete(SAM_STAT_GOOD));
    else req.complete(SAM_STAT_GOOD);
  }

  function readData(): void {
    if (sectorCount === 0) return req.complete(SAM_STAT_GOOD);
    if (!available(s)) {
      if (!handleRwError(s, req, NO_MEDIUM)) complete();
      return;
    }
    const first = !started;
    started = true;
    if (first && needFua) flushThen(() => transfer(complete));
    else transfer(complete);
  }

  function writeData(): void {
    if (!available(s)) {
      if (!handleRwError(s, req, NO_MEDIUM)) complete();
      return;
    }
    started = true;
    // A retry after the data was written and only the FUA flush failed: flush again.
    // (QEMU would write the buffer again past the command's range.)
    if (sectorCount === 0) {
      if (needFua) flushThen(() => req.complete(SAM_STAT_GOOD));
      else req.complete(SAM_STAT_GOOD);
      return;
    }
    transfer(complete);
  }

  return {
    sendCommand() {
      if (!available(s)) return fail(op.SENSE.NO_MEDIUM);
      const len = dataCdbXfer(cdb);
      const lba = req.cmd.lba;
      if (isWrite && !writable(s)) return fail(op.SENSE.WRITE_PROTECTED);
      // Protection information is not supported (RDPROTECT / WRPROTECT) from SCSI-3 on.
      if (s.conf.scsi_version > 2 && cdb[1] & 0xe0) return fail(op.SENSE.INVALID_FIELD);
      if (!lbaRangeOk(s, lba, len)) return fail(op.SENSE.LBA_OUT_OF_RANGE);
      const per = s.blocksize / 512;
      sector = lba * per;
      sectorCount = len * per;
      needFua = isCmdFua(cdb);
      if (sectorCount === 0) {
        req.complete(SAM_STAT_GOOD);
        return 0;
      }
      return isWrite ? -sectorCount * 512 : sectorCount * 512;
    },
    continue() {
      if (req.cmd.mode === 'to-dev') writeData();
      else readData();
    },
    cancelIo: () => io.inFlight,
  };
}
