import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { VIRTIO_F_ANY_LAYOUT, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, featureBits } from '../../../hw/virtio/constants.js';
import { VIRTIO_SCSI_F_CHANGE, VIRTIO_SCSI_F_HOTPLUG, VIRTIO_SCSI_F_INOUT, VIRTIO_SCSI_F_T10_PI, decodeVirtioScsiConfig } from '../../../hw/virtio/scsi.js';
import { CostModel } from '../../../sim/costs.js';
import { ExecutionContext } from '../../../sim/context.js';
import { Simulator } from '../../../sim/simulator.js';
import { Trace } from '../../../sim/trace.js';
import { read10 } from '../scsi-disk/test-utils.js';
import { createVirtioScsi } from './device.js';
import { DEFAULT_VIRTIO_SCSI_PROPS, parseVirtioScsiProps, realizeVirtioScsiProps, resolveScsiNumQueues, virtioScsiPropErrorMessage } from './props.js';
import { makeScsiRig } from './test-utils.js';

const configOf = (r: ReturnType<typeof makeScsiRig>) => {
  const bytes = Uint8Array.from({ length: 36 }, (_, i) => r.hba.readConfig(i, 1));
  return E.getOrElseW(() => undefined)(decodeVirtioScsiConfig(bytes));
};

describe('virtio-scsi config space and features (QEMU 7.2)', () => {
  it('defaults: seg_max = virtqueue_size - 2, max_sectors 0xFFFF, cmd_per_lun 128, sizes 96/32, limits 0/255/16383', () => {
    const r = makeScsiRig();
    expect(configOf(r)).toEqual({ numQueues: 1, segMax: 254, maxSectors: 0xffff, cmdPerLun: 128, eventInfoSize: 16, senseSize: 96, cdbSize: 32, maxChannel: 0, maxTarget: 255, maxLun: 16383 });
    expect(r.hba.numQueues()).toBe(3);
    expect(r.hba.queueMaxSize(2)).toBe(256);
    expect(r.hba.deviceId).toBe(8);
  });

  it('properties reach the config; seg_max_adjust=off gives 126', () => {
    const r = makeScsiRig({ props: { num_queues: 4, virtqueue_size: 128, seg_max_adjust: false, max_sectors: 1024, cmd_per_lun: 4 } });
    expect(configOf(r)).toMatchObject({ numQueues: 4, segMax: 126, maxSectors: 1024, cmdPerLun: 4 });
    expect(r.hba.numQueues()).toBe(6);
  });

  it('offers HOTPLUG and CHANGE by property, never INOUT or T10_PI', () => {
    const r = makeScsiRig();
    const f = r.hba.hostFeatures();
    expect(f).toBe(featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, 24, VIRTIO_F_ANY_LAYOUT, VIRTIO_SCSI_F_HOTPLUG, VIRTIO_SCSI_F_CHANGE));
    const off = makeScsiRig({ props: { hotplug: false, param_change: false } }).hba.hostFeatures();
    expect([VIRTIO_SCSI_F_HOTPLUG, VIRTIO_SCSI_F_CHANGE, VIRTIO_SCSI_F_INOUT, VIRTIO_SCSI_F_T10_PI].map((b) => (off >> BigInt(b)) & 1n)).toEqual([0n, 0n, 0n, 0n]);
  });

  it('the driver sets sense_size and cdb_size; the next request is laid out with them; reset restores 96 and 32', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    r.hba.writeConfig(0x14, 4, 32);
    r.hba.writeConfig(0x18, 4, 16);
    expect(r.hba.sizes).toEqual({ senseSize: 32, cdbSize: 16 });
    const c = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512 });
    r.kick(2);
    expect(r.response(c)).toMatchObject({ response: 0, status: 0 });
    expect(r.used(2)).toEqual([{ id: c.head, len: 512 + 12 + 32 }]);
    r.hba.reset();
    expect(r.hba.sizes).toEqual({ senseSize: 96, cdbSize: 32 });
    expect(r.hba.readConfig(0x14, 4)).toBe(96);
  });

  it('a sense_size ≥ 65536 or cdb_size ≥ 256 is virtio_error() and the sizes stay; writes to read-only fields change nothing', () => {
    const r = makeScsiRig();
    r.hba.writeConfig(0x00, 4, 77);
    expect(r.hba.readConfig(0x00, 4)).toBe(1);
    expect(r.errors).toEqual([]);
    r.hba.writeConfig(0x18, 4, 256);
    expect(r.errors).toEqual(['bad data written to virtio-scsi configuration space']);
    expect(r.hba.sizes.cdbSize).toBe(32);
    expect(r.hba.broken).toBe(true);
    expect(r.hba.readConfig(40, 4)).toBe(0);
  });

  it('realize checks with QEMU\'s messages', () => {
    const msg = (p: Partial<typeof DEFAULT_VIRTIO_SCSI_PROPS>) => {
      const r = realizeVirtioScsiProps({ ...DEFAULT_VIRTIO_SCSI_PROPS, ...p });
      return E.isLeft(r) ? virtioScsiPropErrorMessage(r.left) : 'ok';
    };
    expect(msg({ num_queues: 0 })).toBe('Invalid number of queues (= 0), must be a positive integer less than 1022.');
    expect(msg({ num_queues: 1023 })).toBe('Invalid number of queues (= 1023), must be a positive integer less than 1022.');
    expect(msg({ virtqueue_size: 2 })).toBe('invalid virtqueue_size property (= 2), must be > 2');
    expect(msg({ virtqueue_size: 100 })).toMatch(/power of 2/);
    expect(msg({ virtqueue_size: 2048 })).toMatch(/at most 1024/);
    expect(msg({ num_queues: 1022, virtqueue_size: 1024 })).toBe('ok');
  });

  it('num_queues=auto is one per vCPU on PCI, bounded; values parse from command-line strings', () => {
    expect([1, 4, 64, 5000].map((c) => resolveScsiNumQueues('auto', c))).toEqual([1, 4, 64, 1022]);
    expect(parseVirtioScsiProps({ num_queues: '4294967295', virtqueue_size: '0x80', hotplug: 'off' })).toEqual(
      E.right({ ...DEFAULT_VIRTIO_SCSI_PROPS, num_queues: 'auto', virtqueue_size: 128, hotplug: false }),
    );
    const bad = parseVirtioScsiProps({ cmd_per_lun: '-1' });
    expect(E.isLeft(bad) && virtioScsiPropErrorMessage(bad.left)).toBe('Property \'virtio-scsi.cmd_per_lun\' expects a uint32, got "-1"');
    const sim = new Simulator();
    const trace = new Trace();
    const made = createVirtioScsi({ sim, trace, costs: new CostModel(), context: new ExecutionContext(sim, trace, 'main-loop', 'main-loop'), devName: 's', props: { virtqueue_size: 1 } });
    expect(E.isLeft(made)).toBe(true);
  });
});

describe('virtio-scsi reset', () => {
  it('a reset cancels the commands at the drives; their late answers never reach the (reset) rings', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    r.command({ target: 0, lun: 0, cdb: read10(0, 8), dataIn: 4096 });
    r.ctx.run('kick', () => {
      r.hba.handleOutput(r.vqs[2]);
      r.hba.reset();
    });
    r.env.sim.run();
    expect(r.hba.inFlight).toBe(0);
    expect(r.drv[2].usedIdx()).toBe(0);
    expect(r.disks[0].common.requests.size).toBe(0);
  });
});
