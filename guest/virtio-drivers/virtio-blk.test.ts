/**
 * VirtioBlkDriver on a booted VM (startMachine: KVM, QEMU's virtio-blk-pci, a memory
 * backend): what probe learns from the device (capacity, block sizes, write cache,
 * queues, queue depth, interrupt mode), Linux's naming and status mapping, and requests
 * that travel the whole path (GET_ID, writes read back, a full ring).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, hasFeature } from '../../hw/virtio/constants.js';
import { VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_FLUSH } from '../../hw/virtio/blk.js';
import { cmdlineErrorMessage, parseQemuArgs } from '../../vm/cmdline/index.js';
import { vmErrorMessage } from '../../vm/errors.js';
import { startMachine, type Machine } from '../../vm/machine.js';
import type { BlkIo, BlkRequest, BlkStatus } from '../blockdev/request.js';
import { virtblkName, virtblkResult } from './virtio-blk.js';

const DRIVE = ['-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M'];
const WRITETHROUGH = ['-drive', 'if=none,id=d0,driver=null-co,size=64M,cache=writethrough'];

function boot(device: string, extra: string[] = [], drive = DRIVE): Machine {
  const args = ['-m', '256M', ...extra, ...drive, '-device', `virtio-blk-pci,drive=d0${device}`];
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(cmdlineErrorMessage(spec.left));
  const m = startMachine(spec.right, { record: true });
  if (E.isLeft(m)) throw new Error(vmErrorMessage(m.left));
  return m.right;
}

/** Submit `ios` as one batch from a task on `cpu`, run until every one completed. */
function submitAndWait(m: Machine, ios: BlkIo[], cpu = 0): { status: BlkStatus; rq: BlkRequest }[] {
  const done: { status: BlkStatus; rq: BlkRequest }[] = [];
  const k = m.guest.kernel;
  k.cpus[cpu].schedule('test io', () => m.guest.disks[0].blk.submit(cpu, ios, (status, rq) => void done.push({ status, rq })));
  m.sim.run({ stop: () => done.length === ios.length, until: m.sim.now + 1e9 });
  expect(done).toHaveLength(ios.length);
  return done;
}

describe('virtblkName (virtblk_name_format; the scheme itself is tested in blockdev/disk-name)', () => {
  it('names vda … vdz, vdaa …', () => {
    expect([0, 25, 26, 702].map(virtblkName)).toEqual(['vda', 'vdz', 'vdaa', 'vdaaa']);
  });
});

describe('virtblkResult (the one place device status becomes block status)', () => {
  it('maps OK, UNSUPP, IOERR and anything else', () => {
    expect(virtblkResult(0)).toBe('ok');
    expect(virtblkResult(1)).toBe('ioerr');
    expect(virtblkResult(2)).toBe('notsupp');
    for (const s of [3, 0x7f, 0xff]) expect(virtblkResult(s)).toBe('ioerr');
  });
});

describe('probe: disk info from the device', () => {
  it('default device: capacity, 512-byte blocks, write cache, one queue of 256, MSI-X', () => {
    const m = boot('');
    expect(m.guest.disks).toHaveLength(1);
    const d = m.guest.disks[0].disk;
    expect(d).toMatchObject({
      name: 'vda',
      capacitySectors: (64 << 20) / 512,
      logicalBlockSize: 512,
      physicalBlockSize: 512,
      readOnly: false,
      writeCache: true,
      nrHwQueues: 1,
      queueDepth: 256,
      irqMode: 'msix',
    });
    for (const f of [VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_BLK_F_CONFIG_WCE]) expect(hasFeature(d.features, f)).toBe(true);
  });

  it('reads the block sizes (logical_block_size, physical_block_size)', () => {
    expect(boot(',logical_block_size=4096,physical_block_size=4096').guest.disks[0].disk).toMatchObject({ logicalBlockSize: 4096, physicalBlockSize: 4096, capacitySectors: (64 << 20) / 512 });
    expect(boot(',physical_block_size=4096').guest.disks[0].disk).toMatchObject({ logicalBlockSize: 512, physicalBlockSize: 4096 });
  });

  it('write cache: the writeback byte with config-wce, else FLUSH; off under cache=writethrough', () => {
    const noWce = boot(',config-wce=off').guest.disks[0].disk;
    expect(hasFeature(noWce.features, VIRTIO_BLK_F_CONFIG_WCE)).toBe(false);
    expect(hasFeature(noWce.features, VIRTIO_BLK_F_FLUSH)).toBe(true);
    expect(noWce.writeCache).toBe(true);
    expect(boot('', [], WRITETHROUGH).guest.disks[0].disk.writeCache).toBe(false);
    expect(boot(',config-wce=off', [], WRITETHROUGH).guest.disks[0].disk.writeCache).toBe(false);
  });

  it('one hardware queue per virtqueue, no more than there are CPUs', () => {
    expect(boot(',num-queues=2', ['-smp', '2']).guest.disks[0].disk.nrHwQueues).toBe(2);
    expect(boot(',num-queues=4', ['-smp', '2']).guest.disks[0].disk.nrHwQueues).toBe(2);
    expect(boot(',num-queues=2', ['-smp', '1']).guest.disks[0].disk.nrHwQueues).toBe(1);
  });

  it('queue depth: the ring size with indirect descriptors, half of it without', () => {
    expect(boot(',queue-size=64').guest.disks[0].disk.queueDepth).toBe(64);
    const off = boot(',queue-size=64,indirect_desc=off').guest.disks[0].disk;
    expect(hasFeature(off.features, VIRTIO_F_INDIRECT_DESC)).toBe(false);
    expect(off.queueDepth).toBe(32);
  });

  it('interrupt mode: per-queue MSI-X, one shared vector, or INTx', () => {
    const mode = (dev: string, smp = '2'): string => boot(dev, ['-smp', smp]).guest.disks[0].disk.irqMode;
    expect(mode(',num-queues=2')).toBe('msix');
    expect(mode(',num-queues=2,vectors=3')).toBe('msix');
    expect(mode(',num-queues=2,vectors=2')).toBe('msix-shared');
    expect(mode(',vectors=0')).toBe('intx');
    expect(mode(',vectors=1', '1')).toBe('intx');
  });

  it('names disks in PCI slot order', () => {
    const args = ['-m', '256M', ...DRIVE, '-blockdev', 'driver=raw,node-name=d1,file.driver=memory,file.size=1M', '-device', 'virtio-blk-pci,drive=d0', '-device', 'virtio-blk-pci,drive=d1'];
    const spec = parseQemuArgs(args);
    const m = E.isRight(spec) ? startMachine(spec.right) : undefined;
    const disks = m && E.isRight(m) ? m.right.guest.disks.map((d) => [d.disk.name, d.disk.capacitySectors]) : [];
    expect(disks).toEqual([
      ['vda', (64 << 20) / 512],
      ['vdb', 2048],
    ]);
  });
});

describe('requests through a booted VM', () => {
  const getId = (m: Machine, fill = 0xaa): { status: BlkStatus; bytes: Uint8Array; resultLen: number } => {
    const buf = m.guest.user.alloc(20, 4096);
    m.mem.fill(buf, 20, fill);
    const [r] = submitAndWait(m, [{ op: 'get-id', sector: 0, sectors: 0, sg: [{ addr: buf, len: 20 }] }]);
    return { status: r.status, bytes: m.mem.read(buf, 20), resultLen: r.rq.resultLen };
  };

  it.each([
    ['msix', ''],
    ['msix-shared', ',num-queues=2,vectors=2'],
    ['intx', ',vectors=0'],
  ])('GET_ID returns the serial property (%s)', (mode, dev) => {
    const m = boot(`,serial=SN-1234${dev}`, ['-smp', '2']);
    expect(m.guest.disks[0].disk.irqMode).toBe(mode);
    const r = getId(m);
    expect(r.status).toBe('ok');
    const expected = new Uint8Array(20).fill(0xaa);
    expected.set([...'SN-1234'].map((c) => c.charCodeAt(0)).concat(0));
    expect(r.bytes).toEqual(expected);
  });

  it('GET_ID with a 20-byte serial fills the buffer without a NUL', () => {
    const serial = 'ABCDEFGHIJKLMNOPQRST';
    const r = getId(boot(`,serial=${serial}`));
    expect(r.status).toBe('ok');
    expect(new TextDecoder().decode(r.bytes)).toBe(serial);
  });

  it('a batch of writes is kicked once, reaches the backend, and reads back', () => {
    const m = boot('');
    const bufs = [0, 1, 2].map((i) => {
      const a = m.guest.user.alloc(4096, 4096);
      m.mem.fill(a, 4096, 0x11 * (i + 1));
      return a;
    });
    const kicksBefore = m.recorder!.events.filter((e) => e.kind === 'kick').length;
    const w = submitAndWait(m, bufs.map((addr, i) => ({ op: 'write', sector: 8 * i + 64, sectors: 8, sg: [{ addr, len: 4096 }] })));
    expect(w.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const kicks = m.recorder!.events.filter((e) => e.kind === 'kick').slice(kicksBefore);
    expect(kicks).toHaveLength(1);
    expect(kicks[0]).toMatchObject({ dev: 'vda', vq: 0, notify: true });
    const reqs = m.recorder!.events.filter((e) => e.kind === 'device-request');
    expect(reqs.map((e) => e.kind === 'device-request' && [e.type, e.sector, e.bytes])).toEqual([
      ['OUT', 64, 4096],
      ['OUT', 72, 4096],
      ['OUT', 80, 4096],
    ]);
    const rbuf = m.guest.user.alloc(3 * 4096, 4096);
    const [r] = submitAndWait(m, [{ op: 'read', sector: 64, sectors: 24, sg: [{ addr: rbuf, len: 3 * 4096 }] }]);
    expect(r.status).toBe('ok');
    const got = m.mem.read(rbuf, 3 * 4096);
    expect([0, 4096, 8192, 12287].map((o) => got[o])).toEqual([0x11, 0x22, 0x33, 0x33]);
  });

  it('a full ring (no indirect, 3 descriptors a request) stops the queue and resumes after completions', () => {
    const m = boot(',queue-size=16,indirect_desc=off');
    expect(m.guest.disks[0].disk.queueDepth).toBe(8);
    const buf = m.guest.user.alloc(4096, 4096);
    const n = 8; // 8 requests × 3 descriptors > 16: the 6th does not fit
    const done = submitAndWait(m, Array.from({ length: n }, (_, i) => ({ op: 'write' as const, sector: 8 * i, sectors: 8, sg: [{ addr: buf, len: 4096 }] })));
    expect(done.map((d) => d.status)).toEqual(Array(n).fill('ok'));
    const ev = m.recorder!.events;
    const dispatches = ev.filter((e) => e.kind === 'io-dispatch');
    const refused = dispatches.filter((e, i) => dispatches.findIndex((f) => f.kind === 'io-dispatch' && e.kind === 'io-dispatch' && f.tag === e.tag) !== i);
    expect(refused.length).toBeGreaterThan(0); // some request was handed to the driver twice
    expect(ev.filter((e) => e.kind === 'device-request')).toHaveLength(n);
    expect(ev.filter((e) => e.kind === 'device-error')).toEqual([]);
  });
});
