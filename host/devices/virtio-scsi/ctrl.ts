/**
 * The control queue (QEMU 7.2's virtio_scsi_handle_ctrl_vq, virtio_scsi_handle_ctrl_req,
 * virtio_scsi_do_tmf).
 *
 * Each chain starts with a le32 type. Fewer than 4 readable bytes, or a TMF / AN request
 * whose headers are short, is virtio_error("wrong size for virtio-scsi headers"). An
 * asynchronous-notification query or subscription is answered with no events supported
 * (event_actual 0, response OK). Any other type is pushed back with nothing written.
 *
 * Task management functions, addressed by the LUN field (an address no device answers
 * to: BAD_TARGET; one that reaches a target whose device has another LUN: INCORRECT_LUN):
 * - ABORT TASK: cancel the command with the TMF's 64-bit tag, if the LU holds it; the
 *   answer (FUNCTION COMPLETE) waits until it is canceled, and the command answers ABORTED;
 * - QUERY TASK: FUNCTION SUCCEEDED if the LU holds the command, else FUNCTION COMPLETE;
 * - ABORT TASK SET, CLEAR TASK SET: cancel every command the LU holds, then answer;
 * - QUERY TASK SET: FUNCTION SUCCEEDED if the LU holds any command;
 * - LOGICAL UNIT RESET: reset the device (its commands answer RESET, it gets the RESET unit
 *   attention); I_T NEXUS RESET: the same for every device of the target in lun[1];
 * - CLEAR ACA and anything else: FUNCTION REJECTED.
 * QEMU drains the drive inside a reset (blk_drain), so the reset's answer comes after the
 * canceled commands'; iopath keeps that order by answering once they are all canceled.
 */
import {
  VIRTIO_SCSI_CTRL_AN_REQ_SIZE,
  VIRTIO_SCSI_CTRL_AN_RESP_SIZE,
  VIRTIO_SCSI_CTRL_TMF_REQ_SIZE,
  VIRTIO_SCSI_CTRL_TMF_RESP_SIZE,
  VIRTIO_SCSI_S_BAD_TARGET,
  VIRTIO_SCSI_S_FUNCTION_COMPLETE,
  VIRTIO_SCSI_S_FUNCTION_REJECTED,
  VIRTIO_SCSI_S_FUNCTION_SUCCEEDED,
  VIRTIO_SCSI_S_INCORRECT_LUN,
  VIRTIO_SCSI_S_OK,
  VIRTIO_SCSI_T_AN_QUERY,
  VIRTIO_SCSI_T_AN_SUBSCRIBE,
  VIRTIO_SCSI_T_TMF,
  VIRTIO_SCSI_T_TMF_ABORT_TASK,
  VIRTIO_SCSI_T_TMF_ABORT_TASK_SET,
  VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET,
  VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET,
  VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET,
  VIRTIO_SCSI_T_TMF_QUERY_TASK,
  VIRTIO_SCSI_T_TMF_QUERY_TASK_SET,
  decodeVirtioScsiLun,
  virtioScsiResponseName,
  virtioScsiTmfName,
} from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiAnResp } from '../../../hw/virtio/scsi-req.js';
import type { ScsiDevice } from '../scsi-bus/device.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import { sgReadPrefix } from '../virtio-blk/sg.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import { cancelWithNotifier, cmdTag, inflightCmd } from './cmd.js';
import { MSG_BAD_HEADERS, completeHbaReq, completeUnparsed, parseHbaReq, type HbaReq } from './request.js';
import type { HbaState } from './state.js';

/** virtio_scsi_handle_ctrl_vq. */
export function handleCtrlVq(s: HbaState, vq: DeviceVirtqueue): void {
  while (!s.broken) {
    const r = vq.pop();
    if (r.kind === 'empty') return;
    if (r.kind === 'broken') {
      s.broken = true;
      return;
    }
    s.sim.advance(s.requestNs);
    handleCtrlReq(s, vq, r.elem);
  }
}

const typeBuf = new Uint8Array(4);

function handleCtrlReq(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement): void {
  if (sgReadPrefix(vq.mem, elem.out, typeBuf) < 4) return s.fail(vq, MSG_BAD_HEADERS);
  const type = new DataView(typeBuf.buffer).getUint32(0, true);
  if (type === VIRTIO_SCSI_T_TMF) {
    const req = parseHbaReq(s, vq, elem, VIRTIO_SCSI_CTRL_TMF_REQ_SIZE, VIRTIO_SCSI_CTRL_TMF_RESP_SIZE);
    if (typeof req === 'string') return s.fail(vq, req);
    return doTmf(s, req);
  }
  if (type === VIRTIO_SCSI_T_AN_QUERY || type === VIRTIO_SCSI_T_AN_SUBSCRIBE) {
    const req = parseHbaReq(s, vq, elem, VIRTIO_SCSI_CTRL_AN_REQ_SIZE, VIRTIO_SCSI_CTRL_AN_RESP_SIZE);
    if (typeof req === 'string') return s.fail(vq, req);
    return completeHbaReq(s, req, encodeVirtioScsiAnResp({ eventActual: 0, response: VIRTIO_SCSI_S_OK }));
  }
  completeUnparsed(s, vq, elem, s.gen);
}

/** Run `done` once every request in `reqs` has been canceled (scsi_req_cancel_async with a notifier each). */
function afterCancels(s: HbaState, reqs: readonly ScsiRequest[], start: () => void, done: () => void): void {
  let remaining = 1;
  const dec = (): void => {
    if (--remaining === 0) done();
  };
  for (const r of reqs) {
    remaining++;
    const list = s.cancelWaiters.get(r);
    if (list) list.push(dec);
    else s.cancelWaiters.set(r, [dec]);
  }
  start();
  dec();
}

/** The LU's commands this HBA sent, in arrival order. */
function ourRequests(s: HbaState, d: ScsiDevice): ScsiRequest[] {
  return [...d.common.requests].filter((r) => inflightCmd(s, r) !== undefined);
}

/** qdev_reset_all of `devs` inside s->resetting: their commands answer RESET. */
function resetDevices(s: HbaState, devs: readonly ScsiDevice[], done: () => void): void {
  const reqs = devs.flatMap((d) => ourRequests(s, d));
  for (const r of reqs) inflightCmd(s, r)!.reset = true;
  afterCancels(
    s,
    reqs,
    () => {
      s.resetting++;
      for (const d of devs) d.reset();
      s.resetting--;
    },
    done,
  );
}

/** virtio_scsi_do_tmf. */
function doTmf(s: HbaState, req: HbaReq): void {
  const v = new DataView(req.hdr.buffer, req.hdr.byteOffset, req.hdr.byteLength);
  const subtype = v.getUint32(4, true);
  const lunBytes = req.hdr.subarray(8, 16);
  const tag = v.getBigUint64(16, true);
  const addr = decodeVirtioScsiLun(lunBytes);
  const d = addr.kind === 'lu' ? s.bus.find(0, addr.target, addr.lun) : undefined;
  // virtio_scsi_get_lun: the LUN bits, whatever the address method.
  const lun = ((lunBytes[2] << 8) | lunBytes[3]) & 0x3fff;
  const respond = (response: number): void => {
    if (s.trace.active && req.gen === s.gen) {
      s.trace.emit({ kind: 'device-complete', t: s.sim.now, dev: s.devName, vq: req.vq.index, head: req.elem.head, status: `${virtioScsiTmfName(subtype)} ${virtioScsiResponseName(response)}` });
    }
    completeHbaReq(s, req, Uint8Array.of(response));
  };
  const checkLu = (): ScsiDevice | undefined => {
    if (d === undefined) respond(VIRTIO_SCSI_S_BAD_TARGET);
    else if (d.common.lun !== lun) respond(VIRTIO_SCSI_S_INCORRECT_LUN);
    else return d;
    return undefined;
  };
  switch (subtype) {
    case VIRTIO_SCSI_T_TMF_ABORT_TASK:
    case VIRTIO_SCSI_T_TMF_QUERY_TASK: {
      const lu = checkLu();
      if (!lu) return;
      const r = ourRequests(s, lu).find((x) => cmdTag(inflightCmd(s, x)!) === tag);
      if (r === undefined) return respond(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
      if (subtype === VIRTIO_SCSI_T_TMF_QUERY_TASK) return respond(VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
      return cancelWithNotifier(s, r, () => respond(VIRTIO_SCSI_S_FUNCTION_COMPLETE));
    }
    case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET: {
      const lu = checkLu();
      if (!lu) return;
      return resetDevices(s, [lu], () => respond(VIRTIO_SCSI_S_FUNCTION_COMPLETE));
    }
    case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
    case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
    case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET: {
      const lu = checkLu();
      if (!lu) return;
      const reqs = ourRequests(s, lu);
      if (subtype === VIRTIO_SCSI_T_TMF_QUERY_TASK_SET) return respond(reqs.length > 0 ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED : VIRTIO_SCSI_S_FUNCTION_COMPLETE);
      return afterCancels(
        s,
        reqs,
        () => reqs.forEach((r) => r.cancel()),
        () => respond(VIRTIO_SCSI_S_FUNCTION_COMPLETE),
      );
    }
    case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET: {
      const target = lunBytes[1];
      const devs = s.bus.devices.filter((x) => x.common.channel === 0 && x.common.id === target);
      return resetDevices(s, devs, () => respond(VIRTIO_SCSI_S_FUNCTION_COMPLETE));
    }
    default:
      // VIRTIO_SCSI_T_TMF_CLEAR_ACA and unknown subtypes.
      return respond(VIRTIO_SCSI_S_FUNCTION_REJECTED);
  }
}
