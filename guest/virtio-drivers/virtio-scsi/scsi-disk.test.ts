/**
 * The guest's SCSI stack against QEMU's scsi-hd model (host/devices/scsi-disk on a
 * host/devices/scsi-bus ScsiBus), through the fake virtio-scsi device standing in for
 * QEMU's virtio-scsi HBA until that device model exists: the scan finds the disks QEMU
 * would show, sd reads their capacity and cache mode, and data written through /dev/sda
 * reaches the drive and reads back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { CostModel } from '../../../sim/costs.js';
import * as V from '../../../hw/virtio/scsi.js';
import { ScsiBus } from '../../../host/devices/scsi-bus/bus.js';
import { createScsiDisk, type ScsiDiskProps } from '../../../host/devices/scsi-disk/index.js';
import { memoryDrive } from '../../../host/storage/testing.js';
import { testKernel, type TestKernel } from '../../blockdev/testing.js';
import type { ScsiResponder, TargetReply, TargetRequest } from '../../scsi/testing.js';
import { bio, bootSdOver } from './testing.js';

/** QEMU's SCSI bus below virtio-scsi, answering for the fake HBA. */
class QemuBus implements ScsiResponder {
  readonly bus = new ScsiBus({ tcq: true, maxChannel: V.VIRTIO_SCSI_MAX_CHANNEL, maxTarget: V.VIRTIO_SCSI_MAX_TARGET, maxLun: V.VIRTIO_SCSI_MAX_LUN });
  private tag = 1;

  constructor(private readonly tk: TestKernel) {}

  addDisk(id: number, lun: number, sizeBytes: number, props: Partial<ScsiDiskProps> = {}): void {
    const env = { sim: this.tk.sim, trace: this.tk.trace, costs: new CostModel() };
    const drive = memoryDrive(env, { size: sizeBytes });
    const d = createScsiDisk({ kind: 'scsi-hd', name: `disk${id}.${lun}`, sim: env.sim, trace: env.trace, backend: drive.blk, props: { 'scsi-id': id, lun, ...props } });
    if (E.isLeft(d)) throw new Error(JSON.stringify(d.left));
    const a = this.bus.attach(d.right);
    if (E.isLeft(a)) throw new Error(a.left.message);
  }

  hasTarget(target: number): boolean {
    return this.bus.find(0, target, 0) !== undefined;
  }

  command(r: TargetRequest, reply: (x: TargetReply) => void): void {
    const dev = this.bus.find(0, r.target, r.lun);
    if (dev === undefined) return reply({ response: V.VIRTIO_SCSI_S_BAD_TARGET, status: 0 });
    const dataIn = r.dataOut.length === 0 && r.dataInLen > 0 ? new Uint8Array(r.dataInLen) : undefined;
    const req = this.bus.newRequest(dev, {
      tag: this.tag++,
      lun: r.lun,
      cdb: r.cdb,
      data: dataIn ?? (r.dataOut.length > 0 ? r.dataOut : undefined),
      onComplete: (q) => reply({ status: q.status, sense: q.getSense(96), dataIn: dataIn?.subarray(0, Math.max(0, dataIn.length - q.residual)) }),
    });
    if (req.enqueue() !== 0) req.continue();
  }
}

describe('guest SCSI stack over QEMU scsi-hd', () => {
  it('scan finds the disks, sd reads capacity and write cache, data round-trips', () => {
    const tk = testKernel(1);
    const q = new QemuBus(tk);
    q.addDisk(0, 0, 8 << 20);
    q.addDisk(2, 0, 1 << 20);
    const b = bootSdOver(q, { kernel: tk });
    expect([...b.sd.disks.keys()]).toEqual(['sda', 'sdb']);
    const a = b.sd.disks.get('sda')!;
    expect({ cap: a.bdev.capacitySectors, lbs: a.bdev.limits.logicalBlockSize, wc: a.bdev.limits.writeCache }).toEqual({ cap: (8 << 20) / 512, lbs: 512, wc: true });
    expect(a.disk.sdev.vendor).toBe('QEMU');
    expect(b.sd.disks.get('sdb')!.bdev.capacitySectors).toBe(2048);

    const w = tk.kernel.alloc.alloc(16384, 4096);
    for (let i = 0; i < 16384; i++) tk.kernel.mem.write8(w + i, (i * 7) & 0xff);
    expect(bio(b, 'sda', { op: 'write', sector: 2048, sectors: 32, segments: [{ addr: w, len: 16384 }] })).toBe('ok');
    expect(bio(b, 'sda', { op: 'flush', sector: 0, sectors: 0, segments: [], preflush: true })).toBe('ok');
    const r = tk.kernel.alloc.alloc(16384, 4096);
    tk.kernel.mem.fill(r, 16384);
    expect(bio(b, 'sda', { op: 'read', sector: 2048, sectors: 32, segments: [{ addr: r, len: 16384 }] })).toBe('ok');
    expect(tk.kernel.mem.read(r, 16384)).toEqual(tk.kernel.mem.read(w, 16384));
  });

  it('a read past the end of the disk fails in sd without reaching the device', () => {
    const tk = testKernel(1);
    const q = new QemuBus(tk);
    q.addDisk(0, 0, 1 << 20);
    const b = bootSdOver(q, { kernel: tk });
    const r = tk.kernel.alloc.alloc(4096, 4096);
    expect(bio(b, 'sda', { op: 'read', sector: 2044, sectors: 8, segments: [{ addr: r, len: 4096 }] })).toBe('ioerr');
  });
});
