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
  decodeVirtioScsiLun,
  virtioScsiResponseName,
} from '../../../hw/virtio/scsi.js';
import { decodeVirtioScsiCmdReq, encodeVirtioScsiCmdResp } from '../../../hw/virtio/scsi-req.js';
import type { ScsiData } from '../scsi-bus/data.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import { completeHbaReq, parseHbaReq, type HbaReq } from './request.js';
import type { CmdReq, HbaState } from './state.js';

interface Prepared {
  readonly cmd: CmdReq;
  readonly sreq: ScsiRequest;
}

/** virtio_scsi_handle_cmd_vq. */
export function handleCmdVq(s: HbaState, vq: DeviceVirtqueue): void {
  if (s.broken) return;
  let prepared: Prepared[] = [];
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
        prepared = [];
        stop = true;
        break;
      }
      if (p !== undefined) prepared.push(p);
    }
    vq.setNotification(true);
  } while (!stop && !vq.isEmpty());
  for (const p of prepared) submit(s, p);
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

/** virtio_scsi_complete_cmd_req: push the response and trace it. */
function answer(s: HbaState, req: HbaReq, bytes: Uint8Array): void {
  if (s.trace.active && req.gen === s.gen) {
    const response = bytes[11];
    const status = response === VIRTIO_SCSI_S_OK ? `OK/${samStatusName(bytes[10])}` : virtioScsiResponseName(response);
    s.trace.emit({ kind: 'device-complete', t: s.sim.now, dev: s.devName, vq: req.vq.index, head: req.elem.head, status });
  }
  completeHbaReq(s, req, bytes);
}

/** virtio_scsi_handle_cmd_req_prepare: undefined when answered already, 'broken' on virtio_error(). */
function prepare(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement): Prepared | 'broken' | undefined {
  const { cdbSize, senseSize } = s.sizes;
  const req = parseHbaReq(s, vq, elem, VIRTIO_SCSI_CMD_REQ_HDR_SIZE + cdbSize, VIRTIO_SCSI_CMD_RESP_HDR_SIZE + senseSize);
  if (typeof req === 'string') {
    s.fail(vq, req);
    return 'broken';
  }
  if (req.bidirectional) {
    answer(s, req, respBytes(VIRTIO_SCSI_S_FAILURE));
    return undefined;
  }
  const decoded = decodeVirtioScsiCmdReq(req.hdr, cdbSize, false);
  // The header is exactly req_size bytes, so it always decodes; a Left would be a simulator bug.
  if (decoded._tag === 'Left') throw new Error(`virtio-scsi: header of ${req.hdr.length} bytes did not decode`);
  const h = decoded.right;
  const addr = decodeVirtioScsiLun(h.lun);
  const dev = addr.kind === 'lu' ? s.bus.find(0, addr.target, addr.lun) : undefined;
  const trace = (sector: number): void => {
    if (!s.trace.active) return;
    const type = h.cdb.length > 0 ? scsiOpcodeName(h.cdb[0]) : 'no CDB';
    s.trace.emit({ kind: 'device-request', t: s.sim.now, dev: s.devName, vq: vq.index, head: elem.head, type, sector, bytes: req.dataBytes });
  };
  if (dev === undefined || addr.kind !== 'lu') {
    trace(0);
    answer(s, req, respBytes(VIRTIO_SCSI_S_BAD_TARGET));
    return undefined;
  }
  const data: ScsiData | undefined = req.mode === 'to-dev' ? { mem: vq.mem, sg: req.dataOut } : req.mode === 'from-dev' ? { mem: vq.mem, sg: req.dataIn } : undefined;
  const cmd: CmdReq = { req, tag: h.tag, reset: false };
  const sreq = s.bus.newRequest(dev, {
    // scsi_req_new takes a uint32_t tag; TMFs compare the whole 64-bit one.
    tag: Number(h.tag & 0xffff_ffffn),
    lun: addr.lun,
    cdb: h.cdb,
    data,
    onComplete: (r) => commandComplete(s, r),
    onCancel: (r) => requestCancelled(s, r),
  });
  // The trace's sector is the CDB's LBA in 512-byte sectors (0 for commands without one).
  trace(sreq.cmd.lba > 0 ? (sreq.cmd.lba * dev.blocksize) / 512 : 0);
  const m = sreq.cmd.mode;
  if (m !== 'none' && (m !== req.mode || sreq.cmd.xfer > req.dataBytes)) {
    answer(s, req, respBytes(VIRTIO_SCSI_S_OVERRUN));
    return undefined;
  }
  return { cmd, sreq };
}

/** virtio_scsi_handle_cmd_req_submit. */
function submit(s: HbaState, p: Prepared): void {
  if (p.cmd.req.gen !== s.gen) return;
  s.inflight.set(p.sreq, p.cmd);
  if (p.sreq.enqueue() !== 0) p.sreq.continue();
}

/** virtio_scsi_command_complete (SCSIBusInfo.complete). */
function commandComplete(s: HbaState, r: ScsiRequest): void {
  const c = s.inflight.get(r);
  if (c === undefined) return;
  s.inflight.delete(r);
  if (r.ioCanceled) return;
  if (r.status === SAM_STAT_GOOD) {
    answer(s, c.req, respBytes(VIRTIO_SCSI_S_OK, r.status, Math.max(0, r.residual)));
    return;
  }
  const sense = r.getSense();
  answer(s, c.req, respBytes(VIRTIO_SCSI_S_OK, r.status, 0, sense.subarray(0, Math.min(sense.length, s.sizes.senseSize))));
}

/** virtio_scsi_request_cancelled (SCSIBusInfo.cancel), then the TMFs waiting for it. */
function requestCancelled(s: HbaState, r: ScsiRequest): void {
  const c = s.inflight.get(r);
  if (c !== undefined) {
    s.inflight.delete(r);
    answer(s, c.req, respBytes(c.reset || s.resetting > 0 ? VIRTIO_SCSI_S_RESET : VIRTIO_SCSI_S_ABORTED));
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
