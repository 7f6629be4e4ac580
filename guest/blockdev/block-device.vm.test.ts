/**
 * The block layer in a booted VM (startMachine from a QEMU command line): bios to
 * /dev/vda through plug, merge and the default scheduler, the virtio-blk driver, KVM's
 * exits and QEMU's virtio-blk into the drive, then read back through the block layer
 * and through the host's BlockBackend. Merging shows on the wire: contiguous plugged
 * bios reach QEMU as one request.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../vm/cmdline/index.js';
import { startMachine, type Machine } from '../../vm/machine.js';
import { Task } from '../kernel/task.js';
import { virtblkBlockDevice } from '../virtio-drivers/virtio-blk-bdev.js';
import { discardBio, flushBio, readBio, writeBio, writeZeroesBio, type Bio } from './bio.js';
import type { BlockDevice } from './block-device.js';
import type { BlkStatus } from './request.js';

function boot(args: string[]): Machine {
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(JSON.stringify(spec.left));
  const m = startMachine(spec.right, { seed: 3, record: true });
  if (E.isLeft(m)) throw new Error(JSON.stringify(m.left));
  return m.right;
}

function hostRead(m: Machine, offset: number, bytes: number): Uint8Array {
  let out: Uint8Array | undefined;
  m.host.drives.get('d0')!.blk.read(offset, bytes, (err, data) => {
    if (err) throw new Error(err.message);
    out = Uint8Array.from(data!);
  });
  m.sim.run({ stop: () => out !== undefined });
  return out!;
}

/** Run `bios` as task work (under a plug when asked) and the clock until they all complete. */
function run(m: Machine, dev: BlockDevice, task: Task, bios: Bio[], plug: boolean): BlkStatus[] {
  const st: BlkStatus[] = [];
  task.run('io', () => {
    if (plug) dev.startPlug(task);
    for (const [i, b] of bios.entries()) dev.submitBio(task, b).subscribe((s) => (st[i] = s));
    if (plug) dev.finishPlug(task);
  });
  m.sim.run({ stop: () => st.filter((s) => s !== undefined).length === bios.length });
  return st;
}

const DRIVE = 'if=none,id=d0,driver=memory,size=8M';

describe('GuestBlockDevice in a booted VM', () => {
  it('/dev/vda: plugged writes merge into one virtio-blk request; reads and the host image agree', () => {
    const m = boot(['-m', '256M', '-drive', DRIVE, '-device', 'virtio-blk-pci,drive=d0']);
    const k = m.guest.kernel;
    const dev = virtblkBlockDevice(k, m.guest.disks[0]);
    expect(dev.name).toBe('vda');
    expect(dev.scheduler).toBe('mq-deadline');
    expect(dev.limits.maxSectors).toBe(2560);
    expect(dev.limits.writeCache).toBe(true);
    const task = new Task(1, 'io', k.cpus[0]);
    const buf = m.guest.user.alloc(1 << 20, 4096);
    const data = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7 + 3) & 0xff);
    m.mem.write(buf, data);
    // 16 × 4 KiB contiguous writes under one plug, then a flush.
    const writes = Array.from({ length: 16 }, (_, i) => writeBio(2048 + i * 8, [{ addr: buf + i * 4096, len: 4096 }]));
    const t0 = m.recorder!.events.length;
    expect(run(m, dev, task, [...writes], true)).toEqual(Array(16).fill('ok'));
    const wire = m.recorder!.events.slice(t0).filter((e) => e.kind === 'device-request');
    expect(wire.map((e) => (e.kind === 'device-request' ? [e.type, e.sector, e.bytes] : []))).toEqual([['OUT', 2048, 65536]]);
    expect(dev.stats.merges.plug.back).toBe(15);
    expect(run(m, dev, task, [flushBio()], false)).toEqual(['ok']);
    // Read back through the block layer, into another buffer, as two reads.
    const rb = m.guest.user.alloc(1 << 16, 4096);
    expect(run(m, dev, task, [readBio(2048, [{ addr: rb, len: 32768 }]), readBio(2048 + 64, [{ addr: rb + 32768, len: 32768 }])], true)).toEqual(['ok', 'ok']);
    expect(Buffer.compare(m.mem.read(rb, 65536), data)).toBe(0);
    expect(Buffer.compare(hostRead(m, 2048 * 512, 65536), data)).toBe(0);
    // Discard and write-zeroes reach the drive; stats come from the trace.
    expect(run(m, dev, task, [writeZeroesBio(2048, 8), discardBio(4096, 8)], false)).toEqual(['ok', 'ok']);
    expect(Array.from(hostRead(m, 2048 * 512, 8)).every((b) => b === 0)).toBe(true);
    expect(dev.stats.bios).toBe(16 + 1 + 2 + 2);
    expect(dev.stats.flushes).toBe(1);
    const exits = m.recorder!.events.filter((e) => e.kind === 'exit' && e.purpose === 'notify');
    expect(exits.length).toBeGreaterThan(0);
  });

  it('num-queues=2 on two vCPUs: none by default, each task on its own hardware queue', () => {
    const m = boot(['-m', '256M', '-smp', '2', '-drive', DRIVE, '-device', 'virtio-blk-pci,drive=d0,num-queues=2']);
    const k = m.guest.kernel;
    const dev = virtblkBlockDevice(k, m.guest.disks[0]);
    expect(dev.scheduler).toBe('none');
    const t0 = new Task(1, 'a', k.cpus[0]);
    const t1 = new Task(2, 'b', k.cpus[1]);
    const buf = m.guest.user.alloc(1 << 16, 4096);
    m.mem.fill(buf, 4096, 0x11);
    m.mem.fill(buf + 4096, 4096, 0x22);
    const st: BlkStatus[] = [];
    t0.run('a', () => dev.submitBio(t0, writeBio(0, [{ addr: buf, len: 4096 }])).subscribe((s) => st.push(s)));
    t1.run('b', () => dev.submitBio(t1, writeBio(8, [{ addr: buf + 4096, len: 4096 }])).subscribe((s) => st.push(s)));
    m.sim.run({ stop: () => st.length === 2 });
    expect(st).toEqual(['ok', 'ok']);
    const hwqs = m.recorder!.events.filter((e) => e.kind === 'io-dispatch').map((e) => (e.kind === 'io-dispatch' ? e.hwq : -1));
    expect(hwqs).toEqual([0, 1]);
    const img = hostRead(m, 0, 8192);
    expect([img[0], img[4096]]).toEqual([0x11, 0x22]);
  });

  it('cache=writethrough: the guest sees no write cache, so FUA and PREFLUSH add no flush', () => {
    const m = boot(['-m', '256M', '-drive', `${DRIVE},cache=writethrough`, '-device', 'virtio-blk-pci,drive=d0']);
    const k = m.guest.kernel;
    const dev = virtblkBlockDevice(k, m.guest.disks[0]);
    expect(dev.limits.writeCache).toBe(false);
    const task = new Task(1, 'io', k.cpus[0]);
    const buf = m.guest.user.alloc(4096, 4096);
    expect(run(m, dev, task, [writeBio(0, [{ addr: buf, len: 4096 }], { preflush: true, fua: true }), flushBio()], false)).toEqual(['ok', 'ok']);
    const wire = m.recorder!.events.filter((e) => e.kind === 'device-request').map((e) => (e.kind === 'device-request' ? e.type : ''));
    expect(wire).toEqual(['OUT']);
  });
});
