/**
 * `vdi`: QEMU's VirtualBox disk image driver (block/vdi.c), over a `file` child. The byte
 * layout is in header.ts.
 *
 * - Reads go block by block (1 MiB): an unallocated or discarded block reads as zeroes, an
 *   allocated one from offset_data + index × block_size.
 * - A write to an unallocated block appends a data block: index = blocks_allocated++, the
 *   whole block is written (zeroes around the data), and after the request the header and
 *   the sectors of the block map that changed are written back. Nothing is cached, so a
 *   flush is the generic layer flushing `file`.
 * - Write-zeroes and discard (which QEMU's vdi lacks: it writes zero buffers, and ignores
 *   discard) zero the allocated blocks in the range and leave unallocated ones alone, which
 *   read as zeroes already.
 * - No resize: QEMU 7.2's vdi has no truncate ("Image format driver does not support resize").
 * - A block map entry past the image's blocks fails the request (EIO) instead of reading
 *   whatever lies there; the header and map are checked at open (state.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../block-backend-api.js';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, type BlockDriver, type IoAcct } from '../../driver.js';
import type { ImageCheckResult } from '../../image-api.js';
import type { OptionTable } from '../../options.js';
import { registerBlockDriver } from '../../registry.js';
import { createVdi } from './create.js';
import { SECTOR_SIZE, VDI_HEADER_SIZE, VDI_SIGNATURE, vdiIsAllocated } from './header.js';
import { blockOffset, bmapEntry, fresh, headerBytes, loadVdi, setBmapEntry, type VdiState } from './state.js';

const OPTIONS = {} as const satisfies OptionTable;

const CREATE_OPTIONS = {
  static: { type: 'bool', default: false, help: 'VDI static (pre-allocated) image' },
} as const satisfies OptionTable;

/** Entries of the block map per sector. */
const ENTRIES_PER_SECTOR = SECTOR_SIZE / 4;

/** Calls `fn` for each piece of [offset, offset + bytes) that lies in one block; stops at the first error. */
function perBlock(s: VdiState, offset: number, bytes: number, fn: (block: number, inBlock: number, n: number, done: number) => BlockIoError | null): BlockIoError | null {
  const bs = s.header.blockSize;
  for (let done = 0; done < bytes; ) {
    const pos = offset + done;
    const inBlock = pos % bs;
    const n = Math.min(bytes - done, bs - inBlock);
    const err = fn(Math.floor(pos / bs), inBlock, n, done);
    if (err) return err;
    done += n;
  }
  return null;
}

/** Append a data block for `block` holding `data` at `inBlock` (zeroes elsewhere). */
function allocate(s: VdiState, block: number, inBlock: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  const h = s.header;
  const index = h.blocksAllocated;
  if (index >= h.blocksInImage) {
    return { errno: 'EIO', message: `${s.nodeName}: VDI image has no free data block (blocks_allocated ${index}, blocks_in_image ${h.blocksInImage})` };
  }
  const whole = new Uint8Array(h.blockSize);
  whole.set(data, inBlock);
  const err = s.file.pwritev(h.offsetData + index * h.blockSize, whole, {}, acct);
  if (err) return err;
  setBmapEntry(s, block, index);
  s.header = { ...h, blocksAllocated: index + 1 };
  return null;
}

/** After allocating blocks first..last: the header, then the block map sectors that hold them. */
function writeMetadata(s: VdiState, first: number, last: number, acct: IoAcct): BlockIoError | null {
  const err = s.file.pwritev(0, headerBytes(s), {}, acct);
  if (err) return err;
  const from = Math.floor(first / ENTRIES_PER_SECTOR) * SECTOR_SIZE;
  const to = (Math.floor(last / ENTRIES_PER_SECTOR) + 1) * SECTOR_SIZE;
  return s.file.pwritev(s.header.offsetBmap + from, s.bmap.subarray(from, to), {}, acct);
}

/** Zero what is allocated in the range; unallocated blocks already read as zeroes. */
function zeroRange(s: VdiState, offset: number, bytes: number, acct: IoAcct): BlockIoError | null {
  return (
    fresh(s) ??
    perBlock(s, offset, bytes, (block, inBlock, n) => {
      const at = blockOffset(s, block);
      if (at === 'zero') return null;
      if (typeof at !== 'number') return at;
      return s.file.writeZeroes(at + inBlock, n, {}, acct);
    })
  );
}

/** vdi_co_check: every allocated entry names a distinct block below blocks_in_image, and blocks_allocated counts them. */
function checkVdi(s: VdiState): ImageCheckResult {
  const h = s.header;
  const messages: string[] = [];
  let corruptions = 0;
  let allocated = 0;
  const owner = new Map<number, number>();
  for (let block = 0; block < h.blocksInImage; block++) {
    const entry = bmapEntry(s, block);
    if (!vdiIsAllocated(entry)) continue;
    if (entry >= h.blocksInImage) {
      messages.push(`ERROR: block index ${block} too large, is ${entry}`);
      corruptions++;
      continue;
    }
    allocated++;
    if (owner.has(entry)) {
      messages.push(`ERROR: block index ${owner.get(entry)} also used by ${entry}`);
      corruptions++;
    } else {
      owner.set(entry, entry);
    }
  }
  if (allocated !== h.blocksAllocated) {
    messages.push(`ERROR: allocated blocks mismatch, is ${allocated}, should be ${h.blocksAllocated}`);
    corruptions++;
  }
  return { corruptions, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, imageEndOffset: 0, allocatedClusters: 0, totalClusters: 0, fragmentedClusters: 0, compressedClusters: 0, messages };
}

export const vdiDriver: BlockDriver<VdiState, typeof OPTIONS> = {
  formatName: 'vdi',
  options: OPTIONS,
  createOptions: CREATE_OPTIONS,

  probe(header) {
    if (header.length < VDI_HEADER_SIZE) return 0;
    return new DataView(header.buffer, header.byteOffset, header.length).getUint32(0x40, true) === VDI_SIGNATURE ? 100 : 0;
  },

  create(filename, size, opts, ctx) {
    return createVdi(filename, size, !!opts.static, ctx);
  },

  open(_opts, ctx) {
    return E.flatMap(ctx.openChild('file'), (file) => {
      const r = loadVdi(file);
      if (E.isLeft(r)) return E.left({ _tag: 'DriverError', driver: 'vdi', message: r.left });
      // New data blocks are appended to the file (BLK_PERM_RESIZE).
      file.growable = true;
      return E.right({ file, nodeName: ctx.nodeName, ...r.right, stale: false });
    });
  },

  preadv(s, offset, buf, acct) {
    return (
      fresh(s) ??
      perBlock(s, offset, buf.length, (block, inBlock, n, done) => {
        const dst = buf.subarray(done, done + n);
        const at = blockOffset(s, block);
        if (at === 'zero') {
          dst.fill(0);
          return null;
        }
        return typeof at === 'number' ? s.file.preadv(at + inBlock, dst, acct) : at;
      })
    );
  },

  pwritev(s, offset, data, _flags, acct) {
    const stale = fresh(s);
    if (stale) return stale;
    let first = -1;
    let last = -1;
    const err = perBlock(s, offset, data.length, (block, inBlock, n, done) => {
      const piece = data.subarray(done, done + n);
      const at = blockOffset(s, block);
      if (typeof at === 'number') return s.file.pwritev(at + inBlock, piece, {}, acct);
      if (at !== 'zero') return at;
      if (first < 0) first = block;
      last = block;
      return allocate(s, block, inBlock, piece, acct);
    });
    if (err) return err;
    return first < 0 ? null : writeMetadata(s, first, last, acct);
  },

  writeZeroes(s, offset, bytes, _flags, acct) {
    return zeroRange(s, offset, bytes, acct);
  },

  discard(s, offset, bytes, acct) {
    return zeroRange(s, offset, bytes, acct);
  },

  blockStatus(s, offset, bytes) {
    const bsz = s.header.blockSize;
    const pnum = Math.min(bytes, bsz - (offset % bsz));
    if (fresh(s)) return { flags: BDRV_BLOCK_DATA, pnum };
    const at = blockOffset(s, Math.floor(offset / bsz));
    if (at === 'zero') return { flags: BDRV_BLOCK_ZERO, pnum };
    if (typeof at !== 'number') return { flags: BDRV_BLOCK_DATA, pnum };
    return { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum, map: at + (offset % bsz), file: s.file };
  },

  getLength(s) {
    return s.diskSize;
  },

  close() {},

  info(s) {
    return { clusterSize: s.header.blockSize };
  },

  check(s, fix) {
    if (fix.leaks || fix.errors) return E.left({ _tag: 'DriverError', driver: 'vdi', message: 'This image format does not support checks' });
    const stale = fresh(s);
    if (stale) return E.left({ _tag: 'DriverError', driver: 'vdi', message: stale.message });
    return E.right(checkVdi(s));
  },

  powerCut(s) {
    s.stale = true;
  },
};

registerBlockDriver(vdiDriver);
