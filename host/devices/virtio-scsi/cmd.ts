/**
 * The request queues (QEMU 7.2's virtio_scsi_handle_cmd_vq and what it calls).
 *
 * A kick runs in two stages, as QEMU's does:
 *  1. with notifications off, pop every chain and prepare it (virtio_scsi_handle_cmd_req_prepare):
 *     parse the headers (a broken chain is virtio_error(): everything prepared so far is
 *     dropped and the device stops); a request with data both ways fails at once with
 *     VIRTIO_SCSI_S_FAILURE; an address no device answers to is VIRTIO_SCSI_S_BAD_TARGET; the
 *     bus parses the CDB, and a command whose direction differs from the buffers', or that
 *     would move more than they hold, is VIRTIO_SCSI_S_OVERRUN. Notifications back on, and
 *     again while the ring is not empty;
 *  2. submit every prepared command in order (scsi_req_enqueue, scsi_req_continue). QEMU
 *     wraps each in blk_io_plug/unplug so the drive's submissions batch; iopath's block layer
 *     has no plugging to model, so the stage split is what remains of it.
 *
 * Commands the bus answers at once (INQUIRY, a CHECK CONDITION) complete inside the kick;
 * the others when their drive calls back, on the device's context.
 *
 * The response (virtio_scsi_command_complete): response OK, the SAM status, the residual
 * when GOOD, else the autosense cut to sense_size with sense_len saying how much was
 * written. A canceled command answers VIRTIO_SCSI_S_ABORTED, or VIRTIO_SCSI_S_RESET when a
 * reset canceled it (virtio_scsi_request_cancelled); its other fields are zero.
 *
 * Once a command is answered (virtio_scsi_free_req), its request (cmd-req.ts CmdSlot) and,
 * when nothing else holds it, its bus request are kept for later commands: QEMU allocates
 * both per command; which objects carry a command changes nothing the guest or a trace sees.
 */
import { SAM_STAT_GOOD, samStatusName } from '../../../hw/scsi/status.js';
import { scsiOpcodeName } from '../../../hw/scsi/opcodes.js';
import {
  VIRTIO_SCSI_CMD_RESP_HDR_SIZE,
  VIRTIO_SCSI_CMD_REQ_HDR_SIZE,
  VIRTIO_SCSI_S_ABORTED,
  VIRTIO_SCSI_S_BAD_TARGET,
  VIRTIO_SCSI_S_FAILURE,
  VIRTIO_SCSI_S_OK,
  VIRTIO_SCSI_S_OVERRUN,
  VIRTIO_SCSI_S_RESET,
  virtioScsiResponseName,
} from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiCmdResp, pageOffset } from '../../../hw/virtio/scsi-req.js';
import type { ScsiData } from '../scsi-bus/data.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import { CmdSlot, parseCmdReq } from './cmd-req.js';
import { completeHbaReq, type HbaReq } from './request.js';
import type { CmdReq, HbaState } from './state.js';

/** virtio_scsi_handle_cmd_vq. */
export function handleCmdVq(s: HbaState, vq: DeviceVirtqueue): void {
  if (s.broken) return;
  // The HBA's list of prepared commands, reused by each kick (written by index, never emptied;
  // a fresh one should a kick ever run inside another).
  const own = !s.cmdBatchBusy;
  const prepared = own ? s.cmdBatch : [];
  s.cmdBatchBusy = true;
  let n = 0;
  let stop = false;
  do {
    vq.setNotification(false);
    for (;;) {
      const r = vq.pop();
      if (r.kind === 'empty') break;
      if (r.kind === 'broken') {
        // The transport already set NEEDS_RESET (its virtio_error()).
        s.broken = true;
        stop = true;
        break;
      }
      s.sim.advance(s.requestNs);
      const p = prepare(s, vq, r.elem);
      if (p === 'broken') {
        // "The device is broken and shouldn't process any request": nothing prepared is submitted.
        n = 0;
        stop = true;
        break;
      }
      if (p !== undefined) prepared[n++] = p;
    }
    vq.setNotification(true);
  } while (!stop && !vq.isEmpty());
  for (let i = 0; i < n; i++) submit(s, prepared[i]);
  if (own) s.cmdBatchBusy = false;
}

/** The 12-byte response header (and the sense after it) for `response`, everything else zero. */
function respBytes(response: number, status = 0, resid = 0, sense?: Uint8Array): Uint8Array {
  const hdr = encodeVirtioScsiCmdResp({ senseLen: sense?.length ?? 0, resid, statusQualifier: 0, status, response, sense: new Uint8Array(0) }, 0);
  if (sense === undefined || sense.length === 0) return hdr;
  const out = new Uint8Array(hdr.length + sense.length);
  out.set(hdr);
  out.set(sense, hdr.length);
  return out;
}

/** Trace a response: OK with its SAM status, or the response code's name. */
function traceAnswer(s: HbaState, req: HbaReq, response: number, status: number): void {
  if (!s.trace.wants['device-complete'] || req.gen !== s.gen) return;
  const text = response === VIRTIO_SCSI_S_OK ? (status === SAM_STAT_GOOD ? 'OK/GOOD' : `OK/${samStatusName(status)}`) : virtioScsiResponseName(response);
  s.trace.emit({ kind: 'device-complete', t: s.sim.now, dev: s.devName, vq: req.vq.index, head: req.elem.head, status: text });
}

/** virtio_scsi_complete_cmd_req: push the response and trace it. */
function answer(s: HbaState, req: HbaReq, bytes: Uint8Array): void {
  traceAnswer(s, req, bytes[11], bytes[10]);
  completeHbaReq(s, req, bytes);
}

/**
 * A GOOD response (sense_len 0, resid, status GOOD, response OK): written straight into the
 * response buffer when its first element holds the 12-byte header in one page, as QEMU
 * fills req->resp in place; else as `answer` does. Same bytes either way.
 */
function answerGood(s: HbaState, req: HbaReq, resid: number): void {
  const first = req.resp[0];
  const page = first !== undefined && first.len >= VIRTIO_SCSI_CMD_RESP_HDR_SIZE ? req.vq.mem.pageForWrite(first.addr, VIRTIO_SCSI_CMD_RESP_HDR_SIZE) : undefined;
  if (page === undefined || req.gen !== s.gen || s.broken) return answer(s, req, respBytes(VIRTIO_SCSI_S_OK, SAM_STAT_GOOD, resid));
  traceAnswer(s, req, VIRTIO_SCSI_S_OK, SAM_STAT_GOOD);
  const o = pageOffset(first.addr);
  const r = resid >>> 0;
  // sense_len 0, resid (le32), status_qualifier 0, status GOOD, response OK: byte by byte.
  page[o] = 0;
  page[o + 1] = 0;
  page[o + 2] = 0;
  page[o + 3] = 0;
  page[o + 4] = r & 0xff;
  page[o + 5] = (r >>> 8) & 0xff;
  page[o + 6] = (r >>> 16) & 0xff;
  page[o + 7] = r >>> 24;
  page[o + 8] = 0;
  page[o + 9] = 0;
  page[o + 10] = SAM_STAT_GOOD;
  page[o + 11] = VIRTIO_SCSI_S_OK;
  completeHbaReq(s, req, NO_BYTES);
}

const NO_BYTES = new Uint8Array(0);

/**
 * Whether the LUN field of a command header (bytes 0..7) addresses a logical unit as
 * virtio_scsi_device_get reads it: a flat or peripheral address (target in byte 1, LUN in
 * the low 14 bits of bytes 2..3); anything else — the REPORT LUNS well-known LU included —
 * QEMU answers BAD_TARGET.
 */
function headerAddressesLu(hdr: Uint8Array, at: number): boolean {
  return hdr[at] === 1 && (hdr[at + 2] === 0 || (hdr[at + 2] >= 0x40 && hdr[at + 2] < 0x80));
}

/** A command's 64-bit tag (the header's bytes 8..15, little-endian), for the TMFs that name it. */
export function cmdTag(c: CmdReq): bigint {
  return (BigInt(c.tagHi) << 32n) | BigInt(c.tagLo);
}

/**
 * The command queue's scratch header buffer (req_size bytes), made again only when the
 * driver changes cdb_size: a header that cannot be read in place is copied here.
 */
function cmdScratch(s: HbaState, reqSize: number): Uint8Array {
  let b = s.cmdScratch;
  if (b === undefined || b.length !== reqSize) b = s.cmdScratch = new Uint8Array(reqSize);
  return b;
}

/** Trace a popped command; its sector is the CDB's LBA in 512-byte sectors (0 without a device or an LBA). */
function traceRequest(s: HbaState, req: CmdSlot, cdbLen: number, sreq: ScsiRequest | undefined): void {
  if (!s.trace.wants['device-request']) return;
  const type = cdbLen > 0 ? scsiOpcodeName(req.hdr[req.hdrAt + VIRTIO_SCSI_CMD_REQ_HDR_SIZE]) : 'no CDB';
  const lba = sreq === undefined ? 0 : sreq.cmd.lba;
  const sector = lba > 0 ? (lba * sreq!.dev.blocksize) / 512 : 0;
  s.trace.emit({ kind: 'device-request', t: s.sim.now, dev: s.devName, vq: req.vq.index, head: req.elem.head, type, sector, bytes: req.dataBytes });
}

/** A slot for the next command: one the HBA freed, or a new one. */
function takeSlot(s: HbaState): CmdSlot {
  return s.cmdSpare.pop() ?? new CmdSlot();
}

/**
 * The command answered: its slot and bus request are free for later commands
 * (virtio_scsi_free_req); the request stays out of reuse while a TMF waits on it.
 */
function freeCmd(s: HbaState, c: CmdSlot): void {
  const sreq = c.sreq;
  c.sreq = undefined;
  if (sreq !== undefined && !s.cancelWaiters.has(sreq)) sreq.free();
  if (s.cmdSpare.length < SPARE_MAX) s.cmdSpare.push(c);
}

/** Freed command slots an HBA keeps (more than a queue's worth are rarely out at once). */
const SPARE_MAX = 256;

/** virtio_scsi_handle_cmd_req_prepare: undefined when answered already, 'broken' on virtio_error(). */
function prepare(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement): CmdSlot | 'broken' | undefined {
  const { cdbSize, senseSize } = s.sizes;
  const reqSize = VIRTIO_SCSI_CMD_REQ_HDR_SIZE + cdbSize;
  const respSize = VIRTIO_SCSI_CMD_RESP_HDR_SIZE + senseSize;
  const req = takeSlot(s);
  const bad = parseCmdReq(s, vq, elem, reqSize, respSize, req, cmdScratch(s, reqSize));
  if (bad !== undefined) {
    s.fail(vq, bad);
    return 'broken';
  }
  if (req.bidirectional) {
    answer(s, req, respBytes(VIRTIO_SCSI_S_FAILURE));
    freeCmd(s, req);
    return undefined;
  }
  // The header is exactly req_size bytes (19 + cdb_size), read as QEMU reads req->req; the
  // CDB is its last cdb_size bytes (the bus copies it into its request).
  const hdr = req.hdr;
  const o = req.hdrAt;
  const lun = ((hdr[o + 2] << 8) | hdr[o + 3]) & 0x3fff;
  const dev = headerAddressesLu(hdr, o) ? s.bus.find(0, hdr[o + 1], lun) : undefined;
  if (dev === undefined) {
    traceRequest(s, req, cdbSize, undefined);
    answer(s, req, respBytes(VIRTIO_SCSI_S_BAD_TARGET));
    freeCmd(s, req);
    return undefined;
  }
  // The request is its own data buffer (its mem and sg: the buffers of its direction).
  const data: ScsiData | undefined = req.mode === 'none' ? undefined : req;
  const cb = busCallbacks(s);
  const tagLo = (hdr[o + 8] | (hdr[o + 9] << 8) | (hdr[o + 10] << 16) | (hdr[o + 11] << 24)) >>> 0;
  req.tagLo = tagLo;
  req.tagHi = (hdr[o + 12] | (hdr[o + 13] << 8) | (hdr[o + 14] << 16) | (hdr[o + 15] << 24)) >>> 0;
  // scsi_req_new takes a uint32_t tag (the low half); TMFs compare the whole 64-bit one (cmdTag).
  const sreq = s.bus.request(dev, tagLo, lun, hdr, o + VIRTIO_SCSI_CMD_REQ_HDR_SIZE, cdbSize, data, cb.onComplete, cb.onCancel);
  req.sreq = sreq;
  traceRequest(s, req, cdbSize, sreq);
  const m = sreq.cmd.mode;
  if (m !== 'none' && (m !== req.mode || sreq.cmd.xfer > req.dataBytes)) {
    answer(s, req, respBytes(VIRTIO_SCSI_S_OVERRUN));
    freeCmd(s, req);
    return undefined;
  }
  return req;
}

/** The HBA's SCSIBusInfo.complete and .cancel, made once per device rather than per command. */
function busCallbacks(s: HbaState): NonNullable<HbaState['busCallbacks']> {
  return (s.busCallbacks ??= { onComplete: (r) => commandComplete(s, r), onCancel: (r) => requestCancelled(s, r) });
}

/** virtio_scsi_handle_cmd_req_submit. */
function submit(s: HbaState, c: CmdSlot): void {
  const sreq = c.sreq!;
  if (c.gen !== s.gen) return;
  sreq.hbaPrivate = c;
  s.inflight++;
  if (sreq.enqueue() !== 0) sreq.continue();
}

/** The command `r` carries for this HBA, if it is one of ours still in flight (popped since the last reset). */
export function inflightCmd(s: HbaState, r: ScsiRequest): CmdReq | undefined {
  const c = r.hbaPrivate as CmdReq | undefined;
  return c !== undefined && c.gen === s.gen ? c : undefined;
}

/** Take `r`'s command out of flight (it is being answered); undefined when it is not ours or from before a reset. */
function takeInflight(s: HbaState, r: ScsiRequest): CmdReq | undefined {
  const c = inflightCmd(s, r);
  r.hbaPrivate = undefined;
  if (c !== undefined) s.inflight--;
  return c;
}

/** virtio_scsi_command_complete (SCSIBusInfo.complete). */
function commandComplete(s: HbaState, r: ScsiRequest): void {
  const c = takeInflight(s, r);
  if (c === undefined) return;
  if (r.ioCanceled) return;
  if (r.status === SAM_STAT_GOOD) answerGood(s, c, Math.max(0, r.residual));
  else {
    const sense = r.getSense();
    answer(s, c, respBytes(VIRTIO_SCSI_S_OK, r.status, 0, sense.subarray(0, Math.min(sense.length, s.sizes.senseSize))));
  }
  freeCmd(s, c);
}

/** virtio_scsi_request_cancelled (SCSIBusInfo.cancel), then the TMFs waiting for it. */
function requestCancelled(s: HbaState, r: ScsiRequest): void {
  const c = takeInflight(s, r);
  if (c !== undefined) {
    answer(s, c, respBytes(c.reset || s.resetting > 0 ? VIRTIO_SCSI_S_RESET : VIRTIO_SCSI_S_ABORTED));
  }
  const waiters = s.cancelWaiters.get(r);
  if (waiters === undefined) return;
  s.cancelWaiters.delete(r);
  for (const w of waiters) w();
}

/** scsi_req_cancel_async with a notifier: `done` runs once `r` has finished canceling. */
export function cancelWithNotifier(s: HbaState, r: ScsiRequest, done: () => void): void {
  const list = s.cancelWaiters.get(r);
  if (list) list.push(done);
  else s.cancelWaiters.set(r, [done]);
  r.cancel();
}
