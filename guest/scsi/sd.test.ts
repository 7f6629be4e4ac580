/**
 * sd over virtio-scsi and the fake target: disks found by the scan become /dev/sdX block
 * devices with the capacity, block size, cache mode, discard mode and limits the device
 * reports; bios go down as READ/WRITE(10)/(16), SYNCHRONIZE CACHE, UNMAP, WRITE SAME and
 * read back what was written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bio, bootSd, type SdBooted } from '../virtio-drivers/virtio-scsi/testing.js';
import { encodeCdb } from '../../hw/scsi/cdb.js';
import { rwCdb } from './sd-cmd.js';
import { sdName } from './sd.js';
import type { FakeLunOptions } from './testing.js';

describe('sdName (sd_format_disk_name)', () => {
  it('names sda … sdz, sdaa …', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(sdName)).toEqual(['sda', 'sdb', 'sdz', 'sdaa', 'sdab', 'sdaz', 'sdba', 'sdzz', 'sdaaa']);
  });
});

describe('sd probe', () => {
  it('registers a block device per disk, in scan order, with capacity, block sizes and cache mode', () => {
    const b = bootSd([
      [0, 0, { blocks: 4096, wce: true, dpofua: true }],
      [0, 1, { blocks: 1000, blockSize: 4096, wce: false }],
      [1, 0],
    ]);
    expect([...b.sd.disks.keys()]).toEqual(['sda', 'sdb', 'sdc']);
    const a = b.sd.disks.get('sda')!;
    expect({ cap: a.bdev.capacitySectors, lbs: a.bdev.limits.logicalBlockSize, wc: a.bdev.limits.writeCache, fua: a.bdev.limits.fua }).toEqual({ cap: 4096, lbs: 512, wc: true, fua: true });
    const s = b.sd.disks.get('sdb')!;
    expect({ cap: s.bdev.capacitySectors, lbs: s.bdev.limits.logicalBlockSize, wc: s.bdev.limits.writeCache }).toEqual({ cap: 8000, lbs: 4096, wc: false });
    // SPC-3: READ CAPACITY(16) first; the power-on unit attention was consumed by TEST UNIT READY.
    const ops = b.target.log.filter((l) => l.target === 0 && l.lun === 0).map((l) => l.op);
    expect(ops.indexOf('READ_CAPACITY_16')).toBeGreaterThan(ops.indexOf('TEST_UNIT_READY'));
    expect(ops).not.toContain('READ_CAPACITY_10');
  });

  it('a SCSI-2 disk is read with READ CAPACITY(10)', () => {
    const b = bootSd([[0, 0, { version: 2 }]]);
    const ops = b.target.log.map((l) => l.op);
    expect(ops).toContain('READ_CAPACITY_10');
    expect(ops).not.toContain('READ_CAPACITY_16');
    expect(b.sd.disks.get('sda')!.bdev.capacitySectors).toBe(2048);
  });

  it('limits: max_sectors from the host and the block limits page, segments from seg_max', () => {
    const b = bootSd([[0, 0, { maxTransferLength: 256 }]], { segMax: 64, maxSectors: 1024 });
    const l = b.sd.disks.get('sda')!.bdev.limits;
    expect({ hw: l.maxHwSectors, max: l.maxSectors, segs: l.maxSegments }).toEqual({ hw: 256, max: 256, segs: 64 });
  });

  it('discard mode from the provisioning page (sd_discard_mode)', () => {
    const mode = (thin: FakeLunOptions['thin'], unmapMax = 0): string => {
      const b = bootSd([[0, 0, { thin, maxUnmapLbaCount: unmapMax, maxUnmapDescriptors: unmapMax ? 1 : 0 }]]);
      return b.sd.disks.get('sda')!.disk.provisioningMode;
    };
    expect(mode(undefined)).toBe('full');
    expect(mode({ lbpu: true, lbpws: true }, 8192)).toBe('unmap');
    expect(mode({ lbpu: true, lbpws: true }, 0)).toBe('ws16');
    expect(mode({ lbpu: false, lbpws: false, lbpws10: true })).toBe('ws10');
    expect(mode({ lbpu: false, lbpws: false })).toBe('disable');
  });
});

describe('sd I/O', () => {
  const buf = (b: SdBooted, len: number, fill: number): number => {
    const a = b.tk.kernel.alloc.alloc(len, 4096);
    b.tk.kernel.mem.fill(a, len, fill);
    return a;
  };

  it('writes and reads back through /dev/sda (READ/WRITE(10), FUA, SYNCHRONIZE CACHE)', () => {
    const b = bootSd([[0, 0, { blocks: 8192, dpofua: true }]]);
    const w = buf(b, 8192, 0x5a);
    expect(bio(b, 'sda', { op: 'write', sector: 100, sectors: 16, segments: [{ addr: w, len: 8192 }], fua: true })).toBe('ok');
    expect(bio(b, 'sda', { op: 'flush', sector: 0, sectors: 0, segments: [], preflush: true })).toBe('ok');
    const r = buf(b, 8192, 0);
    expect(bio(b, 'sda', { op: 'read', sector: 100, sectors: 16, segments: [{ addr: r, len: 8192 }] })).toBe('ok');
    expect(b.tk.kernel.mem.read(r, 8192).every((x) => x === 0x5a)).toBe(true);
    expect(b.target.luns.get('0:0')!.data[100 * 512]).toBe(0x5a);
    const cdbs = b.target.log.map((l) => l.cdb);
    const write = cdbs.find((c) => c[0] === 0x2a)!;
    expect(write[1] & 0x08).toBe(0x08); // FUA
    expect(cdbs.some((c) => c[0] === 0x35)).toBe(true);
  });

  it('uses READ/WRITE(16) past 2^32 blocks', () => {
    const b = bootSd([[0, 0, { blocks: 2048 }]]);
    // What sd_read_capacity sets for a disk of more than 2^32 blocks.
    b.sd.disks.get('sda')!.disk.sdev.use16ForRw = true;
    const r = buf(b, 512, 0);
    expect(bio(b, 'sda', { op: 'read', sector: 0, sectors: 1, segments: [{ addr: r, len: 512 }] })).toBe('ok');
    expect(b.target.log.at(-1)!.cdb[0]).toBe(0x88);
  });

  it('discard becomes UNMAP and zeroes the range on the fake', () => {
    const b = bootSd([[0, 0, { thin: { lbpu: true, lbpws: true, lbprz: true }, maxUnmapLbaCount: 4096, maxUnmapDescriptors: 1 }]]);
    const w = buf(b, 4096, 0xff);
    expect(bio(b, 'sda', { op: 'write', sector: 8, sectors: 8, segments: [{ addr: w, len: 4096 }] })).toBe('ok');
    expect(bio(b, 'sda', { op: 'discard', sector: 8, sectors: 8, segments: [] })).toBe('ok');
    expect(b.target.log.at(-1)!.op).toBe('UNMAP');
    expect(b.target.luns.get('0:0')!.data.subarray(8 * 512, 16 * 512).every((x) => x === 0)).toBe(true);
  });

  it('discard as WRITE SAME(16) with UNMAP; an ILLEGAL REQUEST switches discard off', () => {
    const b = bootSd([[0, 0, { thin: { lbpu: false, lbpws: true } }]]);
    const h = b.sd.disks.get('sda')!;
    expect(h.bdev.limits.maxDiscardSectors).toBeGreaterThan(0);
    b.target.inject((c) => c.op === 'WRITE_SAME', { sense: { key: 5, asc: 0x24, ascq: 0 } });
    expect(bio(b, 'sda', { op: 'discard', sector: 0, sectors: 8, segments: [] })).toBe('target');
    const ws = b.target.log.at(-1)!;
    expect([ws.cdb[0], ws.cdb[1] & 0x08]).toEqual([0x93, 0x08]);
    expect(h.disk.provisioningMode).toBe('disable');
    expect(h.bdev.limits.maxDiscardSectors).toBe(0);
    expect(bio(b, 'sda', { op: 'discard', sector: 0, sectors: 8, segments: [] })).toBe('notsupp');
  });

  it("reuses a tag's command for the tag's next request: each CDB is that request's own, whatever came before", () => {
    const b = bootSd([[0, 0, { blocks: 8192, dpofua: true }]]);
    const sdev = b.sd.disks.get('sda')!.disk.sdev;
    const w = buf(b, 4096, 0x11);
    const want: number[][] = [];
    const steps: [sixteen: boolean, sector: number, fua: boolean][] = [
      [false, 0x1f_fff0, true],
      [true, 0x1234_5678, true],
      [false, 8, false],
      [true, 16, false],
      [false, 800, false],
    ];
    for (const [sixteen, sector, fua] of steps) {
      sdev.use16ForRw = sixteen;
      expect(bio(b, 'sda', { op: 'write', sector: sector % 8000, sectors: 8, segments: [{ addr: w, len: 4096 }], fua })).toBe('ok');
      want.push([...rwCdb(true, sixteen ? 16 : 10, sector % 8000, 8, fua)]);
    }
    const got = b.target.log.filter((l) => l.cdb[0] === 0x2a || l.cdb[0] === 0x8a).slice(-steps.length);
    expect(got.map((l, i) => [...l.cdb.subarray(0, want[i].length)])).toEqual(want);
  });

  it('random writes read back (property, a few runs)', () => {
    const b = bootSd([[0, 0, { blocks: 4096 }]]);
    fc.assert(
      fc.property(fc.nat({ max: 4000 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 255 }), (sector, n, v) => {
        const s = Math.min(sector, 4096 - n);
        const w = buf(b, n * 512, v);
        expect(bio(b, 'sda', { op: 'write', sector: s, sectors: n, segments: [{ addr: w, len: n * 512 }] })).toBe('ok');
        const r = buf(b, n * 512, 0);
        expect(bio(b, 'sda', { op: 'read', sector: s, sectors: n, segments: [{ addr: r, len: n * 512 }] })).toBe('ok');
        expect(b.tk.kernel.mem.read(r, n * 512).every((x) => x === v)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});

describe('rwCdb (sd_setup_rw10_cmnd / sd_setup_rw16_cmnd)', () => {
  it('gives the bytes encodeCdb gives for the same READ/WRITE (property)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom<10 | 16>(10, 16), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 0xffffffff }), fc.boolean(), (write, size, lbaIn, blocksIn, fua) => {
        const lba = size === 10 ? lbaIn % 2 ** 32 : lbaIn;
        const blocks = size === 10 ? blocksIn & 0xffff : blocksIn;
        const flags = { protect: 0, dpo: false, group: 0, control: 0 } as const;
        const want = write
          ? encodeCdb({ op: 'WRITE', size, lba, transferLength: blocks, fua, ...flags })
          : encodeCdb({ op: 'READ', size, lba, transferLength: blocks, fua, rarc: false, ...flags });
        expect(rwCdb(write, size, lba, blocks, fua)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
