/**
 * The event queue: hot-plug (TRANSPORT_RESET RESCAN / REMOVED), capacity change
 * (PARAM_CHANGE → sd rescans), lost events (EVENTS_MISSED → hot-unplug check and full
 * rescan), buffers reposted after every event, and any 16 bytes handled without a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as V from '../../../hw/virtio/scsi.js';
import { paramChangeReason } from '../../../hw/virtio/scsi-req.js';
import { bootSd, type SdBooted } from './testing.js';

const lunBytes = (target: number, lun: number): Uint8Array => V.encodeVirtioScsiLun(target, lun, 'qemu-event');
const settle = (b: SdBooted): void => void b.tk.sim.run({ until: b.tk.sim.now + 1e9 });

describe('events', () => {
  it('TRANSPORT_RESET RESCAN adds the new LUN as the next disk; REMOVED takes it away', () => {
    const b = bootSd([[0, 0]]);
    b.target.addLun(0, 2, { blocks: 777 });
    expect(b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_TRANSPORT_RESET, lun: lunBytes(0, 2), reason: V.VIRTIO_SCSI_EVT_RESET_RESCAN })).toBe(true);
    settle(b);
    expect([...b.sd.disks.keys()]).toEqual(['sda', 'sdb']);
    expect(b.sd.disks.get('sdb')!.bdev.capacitySectors).toBe(777);
    b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_TRANSPORT_RESET, lun: lunBytes(0, 2), reason: V.VIRTIO_SCSI_EVT_RESET_REMOVED });
    settle(b);
    expect([...b.sd.disks.keys()]).toEqual(['sda']);
    expect(b.drv.host.lookup(0, 0, 2)).toBeUndefined();
    expect(b.dev.eventBuffers).toBe(8);
  });

  it('a RESCAN of LUN 0 scans the whole target', () => {
    const b = bootSd([[0, 0]]);
    b.target.addLun(3, 0);
    b.target.addLun(3, 1);
    b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_TRANSPORT_RESET, lun: lunBytes(3, 0), reason: V.VIRTIO_SCSI_EVT_RESET_RESCAN });
    settle(b);
    expect([...b.sd.disks.keys()]).toEqual(['sda', 'sdb', 'sdc']);
  });

  it('PARAM_CHANGE capacity data has changed: sd re-reads the capacity', () => {
    const b = bootSd([[0, 0, { blocks: 2048 }]]);
    const lun = b.target.luns.get('0:0')!;
    lun.opts.blocks = 4096;
    lun.data = new Uint8Array(4096 * 512);
    lun.ua = undefined;
    b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_PARAM_CHANGE, lun: lunBytes(0, 0), reason: paramChangeReason(0x2a, 0x09) });
    settle(b);
    expect(b.sd.disks.get('sda')!.bdev.capacitySectors).toBe(4096);
  });

  it('PARAM_CHANGE for another reason does nothing', () => {
    const b = bootSd([[0, 0]]);
    const n = b.target.log.length;
    b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_PARAM_CHANGE, lun: lunBytes(0, 0), reason: paramChangeReason(0x3f, 0x03) });
    settle(b);
    expect(b.target.log.length).toBe(n);
  });

  it('EVENTS_MISSED: devices gone are removed, new ones found', () => {
    const b = bootSd([[0, 0], [1, 0]]);
    b.target.luns.delete('1:0');
    b.target.addLun(2, 0);
    // Use up the buffers so the device misses one, then give it one back.
    for (let i = 0; i < 8; i++) b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_NO_EVENT, lun: new Uint8Array(8), reason: 0 });
    expect(b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_NO_EVENT, lun: new Uint8Array(8), reason: 0 })).toBe(false);
    settle(b);
    b.dev.pushEvent({ event: V.VIRTIO_SCSI_T_NO_EVENT, lun: new Uint8Array(8), reason: 0 });
    settle(b);
    expect(b.drv.events.handled.at(-1)!.eventsMissed).toBe(true);
    expect([...b.sd.disks.keys()].sort()).toEqual(['sda', 'sdb']);
    expect(b.drv.host.lookup(0, 1, 0)).toBeUndefined();
    expect(b.drv.host.lookup(0, 2, 0)).toBeDefined();
  });

  it('any event bytes are handled and the buffer reposted (property)', () => {
    const b = bootSd([[0, 0]]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(b.dev.pushRawEvent(bytes)).toBe(true);
        settle(b);
        expect(b.dev.eventBuffers).toBe(8);
      }),
      { numRuns: 60 },
    );
  });
});
