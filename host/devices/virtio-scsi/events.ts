/**
 * The event queue (QEMU 7.2's virtio_scsi_push_event and virtio_scsi_handle_event_vq).
 *
 * The driver keeps buffers of at least 16 bytes (struct virtio_scsi_event) on the event
 * queue. An event takes one: nothing happens before DRIVER_OK; with no buffer the event is
 * lost and `eventsDropped` remembers it, so the next event delivered carries
 * VIRTIO_SCSI_T_EVENTS_MISSED; when the driver adds buffers (kicks the event queue) while
 * events were dropped, the device delivers VIRTIO_SCSI_T_NO_EVENT | EVENTS_MISSED at once,
 * and the driver rescans the bus. Events are not queued in the device: QEMU has no queue.
 *
 * The LUN field is QEMU's own encoding for events: flat addressing only from LUN 256 (the
 * same as REPORT LUNS), 0 for EVENTS_MISSED.
 */
import {
  VIRTIO_SCSI_EVENT_SIZE,
  VIRTIO_SCSI_T_NO_EVENT,
  VIRTIO_SCSI_VQ_EVENT,
  encodeVirtioScsiLun,
} from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiEvent } from '../../../hw/virtio/scsi-req.js';
import type { DeviceVirtqueue } from '../virtio/types.js';
import { completeHbaReq, parseHbaReq } from './request.js';
import type { HbaState } from './state.js';

/** The device an event is about: its target and LUN. */
export interface EventAddress {
  readonly id: number;
  readonly lun: number;
}

const NAMES: Record<number, string> = { 0: 'NO_EVENT', 1: 'TRANSPORT_RESET', 2: 'ASYNC_NOTIFY', 3: 'PARAM_CHANGE' };

/** virtio_scsi_push_event. */
export function pushEvent(s: HbaState, event: number, reason: number, addr: EventAddress | undefined): void {
  if (!s.driverOk) return;
  const vq = s.queues[VIRTIO_SCSI_VQ_EVENT];
  const r = vq === undefined || s.broken ? ({ kind: 'empty' } as const) : vq.pop();
  if (r.kind === 'broken') s.broken = true;
  if (r.kind !== 'elem' || vq === undefined) {
    s.eventsDropped = true;
    note(s, `event ${NAMES[event] ?? event} dropped: no buffer on the event queue`);
    return;
  }
  let missed = false;
  if (s.eventsDropped) {
    missed = true;
    s.eventsDropped = false;
  }
  const req = parseHbaReq(s, vq, r.elem, 0, VIRTIO_SCSI_EVENT_SIZE);
  if (typeof req === 'string') return s.fail(vq, req);
  const lun = addr === undefined ? new Uint8Array(8) : encodeVirtioScsiLun(addr.id, addr.lun, 'qemu-event');
  note(s, `event ${NAMES[event] ?? event}${missed ? ' | EVENTS_MISSED' : ''} reason ${reason}${addr ? ` for ${addr.id}:${addr.lun}` : ''}`);
  completeHbaReq(s, req, encodeVirtioScsiEvent({ event, eventsMissed: missed, lun, reason }));
}

/** virtio_scsi_handle_event_vq: the driver added event buffers. */
export function handleEventVq(s: HbaState, _vq: DeviceVirtqueue): void {
  if (s.eventsDropped) pushEvent(s, VIRTIO_SCSI_T_NO_EVENT, 0, undefined);
}

function note(s: HbaState, text: string): void {
  if (s.trace.active) s.trace.emit({ kind: 'note', t: s.sim.now, where: s.devName, text });
}
