/**
 * Writeback without fsync: buffered writes into files on ext3 over virtio-blk, never
 * synced, at random instants — and every written page reaches the device (QEMU's block
 * layer: it is in the host's image, read back through the drive's BlockBackend) within
 * dirty_expire_centisecs + dirty_writeback_centisecs of virtual time after the write
 * returned (30 s + 5 s by default: a page expires 30 s after it was dirtied and the
 * flusher, waking every 5 s, takes it at its next wakeup), plus a slack of 100 ms for the
 * bio, the request, the ring, the exit, QEMU and the back end to carry it.
 *
 * Each write is whole, page-aligned 4 KiB pages of data unique to it, to a page no other
 * write touches, so "it reached the device" is "its bytes are a block of the image".
 *
 * Runs: 15 (IOPATH_DEEP=1: 150).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, it } from 'vitest';
import { DEFAULT_VM_SYSCTL } from '../guest/pagecache/sysctl.js';
import { O_CREAT, O_RDWR } from '../guest/vfs/syscalls-api.js';
import { DEEP, fillPattern, readBack, runs } from './support/vm.js';
import { bootFs } from './fs-model/real.js';

const DISK = 32 * 1024 * 1024;
const PAGE = 4096;
const CS = 10_000_000; // a centisecond, in ns
const DEADLINE_NS = (DEFAULT_VM_SYSCTL.dirty_expire_centisecs + DEFAULT_VM_SYSCTL.dirty_writeback_centisecs) * CS;
const SLACK_NS = 100_000_000;
const ARGS = ['-m', '256M', '-blockdev', `driver=raw,node-name=d0,file.driver=memory,file.size=${DISK}`, '-device', 'virtio-blk-pci,drive=d0,id=vblk0'];

interface GenWrite {
  file: number;
  page: number;
  pages: number;
  /** Virtual time before the write, ns. */
  gapNs: number;
}

const writesArb = fc
  .uniqueArray(
    fc.record({
      file: fc.integer({ min: 0, max: 2 }),
      page: fc.integer({ min: 0, max: 15 }),
      pages: fc.integer({ min: 1, max: 3 }),
      gapNs: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 20e9 })),
    }),
    { minLength: 1, maxLength: 12, selector: (w) => `${w.file}:${w.page}` },
  )
  // Page ranges of one file must not overlap: keep the first of overlapping writes.
  .map((ws) => ws.filter((w, i) => !ws.slice(0, i).some((v) => v.file === w.file && v.page < w.page + w.pages && w.page < v.page + v.pages)));

/** Is `data` (whole pages) in the image, each page at some block-aligned offset? */
function inImage(image: Uint8Array, data: Uint8Array): boolean {
  for (let p = 0; p < data.length; p += PAGE) {
    const page = data.subarray(p, p + PAGE);
    let found = false;
    for (let off = 0; off + PAGE <= image.length && !found; off += PAGE) {
      if (image[off] !== page[0] || image[off + 1] !== page[1] || image[off + 2] !== page[2]) continue;
      found = Buffer.compare(image.subarray(off, off + PAGE), page) === 0;
    }
    if (!found) return false;
  }
  return true;
}

/** The deep profile runs ten times as long as vitest's default timeout allows. */
const DEEP_TIMEOUT = DEEP ? 60 * 60_000 : undefined;

describe('dirty data reaches the device without fsync', () => {
  it(`within dirty_expire + dirty_writeback (${DEADLINE_NS / 1e9} s) + ${SLACK_NS / 1e6} ms of virtual time`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), writesArb, (seed, writes) => {
        const r = bootFs(ARGS, seed);
        const fds: number[] = [];
        for (let f = 0; f < 3; f++) {
          const fd = r.call(r.sys.open(r.task, `/mnt/w${f}`, O_RDWR | O_CREAT, 0o644), `open(/mnt/w${f})`);
          if (E.isLeft(fd)) throw new Error(`open(/mnt/w${f}): ${fd.left}`);
          fds.push(fd.right);
        }
        const done: { w: GenWrite; data: Uint8Array; at: number }[] = [];
        for (const [i, w] of writes.entries()) {
          r.sleep(w.gapNs);
          const data = fillPattern(new Uint8Array(w.pages * PAGE), seed * 31 + i);
          const res = r.call(r.sys.pwrite(r.task, fds[w.file], r.buf(data.length, data), w.page * PAGE), `pwrite #${i}`);
          if (E.isLeft(res) || res.right !== data.length) throw new Error(`pwrite #${i}: ${E.isLeft(res) ? res.left : res.right}`);
          done.push({ w, data, at: r.m.sim.now });
        }
        for (const d of [...done].sort((a, b) => a.at - b.at)) {
          const deadline = d.at + DEADLINE_NS + SLACK_NS;
          if (r.m.sim.now < deadline) r.sleep(deadline - r.m.sim.now);
          const image = readBack(r.m, 'd0', 0, DISK);
          if (!inImage(image, d.data))
            throw new Error(`write of ${d.w.pages} pages at page ${d.w.page} of /mnt/w${d.w.file}, returned at ${d.at} ns, is not on the device at ${r.m.sim.now} ns`);
        }
      }),
      { numRuns: runs(15) },
    );
  }, DEEP_TIMEOUT);
});
