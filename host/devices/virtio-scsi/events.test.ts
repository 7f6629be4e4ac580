import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { SAM_STAT_CHECK_CONDITION } from '../../../hw/scsi/status.js';
import { SENSE_CODE } from '../../../hw/scsi/sense-codes.js';
import { VIRTIO_F_VERSION_1 } from '../../../hw/virtio/constants.js';
import {
  VIRTIO_SCSI_EVT_RESET_REMOVED,
  VIRTIO_SCSI_EVT_RESET_RESCAN,
  VIRTIO_SCSI_S_BAD_TARGET,
  VIRTIO_SCSI_T_NO_EVENT,
  VIRTIO_SCSI_T_PARAM_CHANGE,
  VIRTIO_SCSI_T_TRANSPORT_RESET,
} from '../../../hw/virtio/scsi.js';
import { parseSense, SENSE } from '../scsi-bus/defs.js';
import { inquiry, read10 } from '../scsi-disk/test-utils.js';
import { makeScsiRig } from './test-utils.js';

const lunOf = (id: number, lun: number) => Uint8Array.of(1, id, lun >= 256 ? 0x40 | (lun >> 8) : 0, lun & 0xff, 0, 0, 0, 0);

describe('virtio-scsi events', () => {
  it('hot-plug: TRANSPORT_RESET / RESCAN for the new LU, then the bus reports REPORTED LUNS DATA HAS CHANGED', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const [buf] = r.eventBuffers(1);
    r.kick(1);
    const disk = r.makeDisk({ id: 1, lun: 300 });
    expect(E.isRight(r.hba.hotplug(disk))).toBe(true);
    expect(r.used(1)).toHaveLength(1);
    expect(r.event(buf)).toEqual({ event: VIRTIO_SCSI_T_TRANSPORT_RESET, eventsMissed: false, lun: lunOf(1, 300), reason: VIRTIO_SCSI_EVT_RESET_RESCAN });
    expect(r.interrupts[1]).toHaveLength(1);
    // The next command to any LU of the bus gets the unit attention, once.
    disk.common.unitAttention = SENSE.NO_SENSE;
    const c = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512 });
    r.kick(2);
    expect(r.response(c).status).toBe(SAM_STAT_CHECK_CONDITION);
    expect(parseSense(r.response(c).sense)).toEqual(SENSE_CODE.REPORTED_LUNS_CHANGED);
    const i = r.command({ target: 1, lun: 300, cdb: inquiry(36), dataIn: 36 });
    r.kick(2);
    expect(r.response(i).data[0]).toBe(0);
  });

  it('hot-unplug: TRANSPORT_RESET / REMOVED (LUN < 256 with a zero address byte), the LU is gone', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }, { id: 2, lun: 7 }] });
    const [buf] = r.eventBuffers(1);
    expect(r.hba.hotunplug(r.disks[1])).toBe(true);
    expect(r.event(buf)).toEqual({ event: VIRTIO_SCSI_T_TRANSPORT_RESET, eventsMissed: false, lun: lunOf(2, 7), reason: VIRTIO_SCSI_EVT_RESET_REMOVED });
    const c = r.command({ target: 2, lun: 7, cdb: inquiry(36), dataIn: 36 });
    r.kick(2);
    expect(r.response(c).response).toBe(VIRTIO_SCSI_S_BAD_TARGET);
    expect(r.hba.hotunplug(r.disks[1])).toBe(false);
  });

  it('with no event buffer the event is dropped; a buffer arriving gets NO_EVENT | EVENTS_MISSED at once', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    r.hba.hotplug(r.makeDisk({ id: 1, lun: 0 }));
    expect(r.hba.eventsDropped).toBe(true);
    expect(r.used(1)).toEqual([]);
    const [buf] = r.eventBuffers(2);
    r.kick(1);
    expect(r.event(buf)).toEqual({ event: VIRTIO_SCSI_T_NO_EVENT, eventsMissed: true, lun: new Uint8Array(8), reason: 0 });
    expect(r.used(1)).toEqual([{ id: expect.any(Number), len: 16 }]);
    expect(r.hba.eventsDropped).toBe(false);
  });

  it('an event after a dropped one carries EVENTS_MISSED itself', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const d1 = r.makeDisk({ id: 1, lun: 0 });
    r.hba.hotplug(d1);
    const [buf] = r.eventBuffers(1); // posted, but not kicked: the device finds it at the next event
    r.hba.hotunplug(d1);
    expect(r.event(buf)).toEqual({ event: VIRTIO_SCSI_T_TRANSPORT_RESET, eventsMissed: true, lun: lunOf(1, 0), reason: VIRTIO_SCSI_EVT_RESET_REMOVED });
  });

  it('without VIRTIO_SCSI_F_HOTPLUG negotiated (or before DRIVER_OK) hot-plug raises no event and no unit attention', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }], accept: () => 1n << BigInt(VIRTIO_F_VERSION_1) });
    r.eventBuffers(1);
    r.hba.hotplug(r.makeDisk({ id: 1, lun: 0 }));
    expect(r.used(1)).toEqual([]);
    expect(r.hba.bus.unitAttention).toEqual(SENSE.NO_SENSE);
    const cold = makeScsiRig({ noStart: true });
    cold.hba.hotplug(cold.makeDisk({ id: 0, lun: 0 }));
    expect(cold.hba.eventsDropped).toBe(false);
  });

  it('PARAM_CHANGE carries the unit attention\'s ASC/ASCQ for a disk, never for a CD-ROM', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }, { id: 1, lun: 0, kind: 'scsi-cd' }] });
    const bufs = r.eventBuffers(2);
    r.hba.reportChange(r.disks[1], SENSE_CODE.CAPACITY_CHANGED);
    r.hba.reportChange(r.disks[0], SENSE_CODE.CAPACITY_CHANGED);
    expect(r.used(1)).toHaveLength(1);
    expect(r.event(bufs[0])).toEqual({ event: VIRTIO_SCSI_T_PARAM_CHANGE, eventsMissed: false, lun: lunOf(0, 0), reason: 0x2a | (0x09 << 8) });
  });

  it('an event buffer shorter than struct virtio_scsi_event is virtio_error()', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const d = r.drv[1];
    d.publish(d.addChain([{ len: 8, write: true }]));
    r.hba.hotplug(r.makeDisk({ id: 1, lun: 0 }));
    expect(r.errors).toEqual(['wrong size for virtio-scsi headers']);
    expect(r.hba.broken).toBe(true);
  });
});
