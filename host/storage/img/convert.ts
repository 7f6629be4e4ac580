/**
 * `qemu-img convert`'s copy (convert_do_copy, run in order with one worker): the sources
 * are concatenated, each a whole number of sectors long, and copied run by run. A run's
 * block status decides: zeroes are skipped on a target known to read as zeroes (a new
 * one) and written as zeroes otherwise; data is read and, with sparse detection on
 * (`minSparse` > 0), zero runs of at least `minSparse` bytes inside it are skipped the
 * same way. With a backing file for the target, runs the source leaves to its own
 * backing file are left unallocated. Compressed copies go through the target driver's
 * `writeCompressed`, one whole cluster at a time.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../block-backend-api.js';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO } from '../driver.js';
import type { BlockDriverState } from '../node.js';
import { statusAt, statusAbove } from './block-status.js';
import { refused, type ImgError } from './errors.js';
import { BDRV_SECTOR_SIZE, imageLength } from './image.js';
import { allocatedRunMin, pow2floor } from './sparse.js';
import { driverInfo } from './info.js';

export interface ConvertOptions {
  /** -S in bytes: a multiple of 512 up to 16 MiB; 0 writes every byte (no sparse detection). Default 4096. */
  readonly minSparse?: number;
  /** -c */
  readonly compressed?: boolean;
  /** The target was just created (and so reads as zeroes); false with -n. */
  readonly targetIsNew: boolean;
  /** The target has a backing file (-B): what the source leaves to its backing file stays unallocated. */
  readonly targetHasBacking?: boolean;
}

/** IO_BUF_SIZE in sectors. */
const BUF_SECTORS = (2 << 20) / BDRV_SECTOR_SIZE;
/** BDRV_REQUEST_MAX_SECTORS: the most one block-status query covers. */
const REQUEST_MAX_SECTORS = Math.floor(0x7fffffff / BDRV_SECTOR_SIZE);

type RunStatus = 'data' | 'zero' | 'backing';

/** The sources as one disk: each source's length in sectors, and where each starts. */
class Concat {
  readonly sectors: number[];
  readonly total: number;
  constructor(readonly sources: readonly BlockDriverState[]) {
    this.sectors = sources.map((bs) => imageLength(bs) / BDRV_SECTOR_SIZE);
    this.total = this.sectors.reduce((a, b) => a + b, 0);
  }
  /** The source holding sector `n`, and the sector where that source starts. */
  part(n: number): { idx: number; start: number } {
    let start = 0;
    let idx = 0;
    while (n - start >= this.sectors[idx]) start += this.sectors[idx++];
    return { idx, start };
  }
}

/** Copy `sources`, concatenated, to `target` (which is at least as long). */
export function convertImages(sources: readonly BlockDriverState[], target: BlockDriverState, opts: ConvertOptions): E.Either<ImgError, void> {
  const src = new Concat(sources);
  const minSparse = (opts.minSparse ?? 4096) / BDRV_SECTOR_SIZE;
  const hasBacking = !!opts.targetHasBacking;
  const zeroInit = opts.targetIsNew && minSparse > 0 && !hasBacking;
  let bufSectors = BUF_SECTORS;
  let clusterSectors = 0;
  if (opts.compressed) {
    if (!target.drv.writeCompressed) return E.left(refused('Compression not supported for this file format'));
    clusterSectors = (driverInfo(target)?.clusterSize ?? 0) / BDRV_SECTOR_SIZE;
    if (!Number.isInteger(clusterSectors) || clusterSectors <= 0 || clusterSectors > bufSectors) return E.left(refused('invalid cluster size'));
    bufSectors = clusterSectors;
  }
  const alignment = Math.max(pow2floor(minSparse), Math.ceil(target.requestAlignment / BDRV_SECTOR_SIZE));
  const buf = new Uint8Array(bufSectors * BDRV_SECTOR_SIZE);
  let status = 'data' as RunStatus;
  let nextStatus = 0;

  /** convert_iteration_sectors: how many sectors from `sector` share one status (sets `status`). */
  const iteration = (sector: number): number => {
    const { idx, start } = src.part(sector);
    let n = Math.min(src.total - sector, REQUEST_MAX_SECTORS);
    if (nextStatus <= sector) {
      const bs = src.sources[idx];
      const offset = (sector - start) * BDRV_SECTOR_SIZE;
      const bytes = Math.min(n * BDRV_SECTOR_SIZE, imageLength(bs) - offset);
      const st = hasBacking ? statusAt(bs, offset, bytes) : statusAbove(bs, offset, bytes);
      n = Math.ceil(st.pnum / BDRV_SECTOR_SIZE);
      status = st.flags & BDRV_BLOCK_ZERO ? 'zero' : st.flags & BDRV_BLOCK_DATA ? 'data' : hasBacking ? 'backing' : 'data';
      nextStatus = sector + n;
    }
    n = Math.min(n, nextStatus - sector);
    if (status === 'data') n = Math.min(n, bufSectors);
    if (opts.compressed) {
      if (n < clusterSectors) {
        n = Math.min(clusterSectors, src.total - sector);
        status = 'data';
      } else n -= n % clusterSectors;
    }
    return n;
  };

  /** convert_co_read: `n` sectors from `sector` on, across sources if need be. */
  const readSectors = (sector: number, n: number): BlockIoError | null => {
    let done = 0;
    while (done < n) {
      const { idx, start } = src.part(sector + done);
      const m = Math.min(n - done, src.sectors[idx] - (sector + done - start));
      const err = src.sources[idx].preadv((sector + done - start) * BDRV_SECTOR_SIZE, buf.subarray(done * BDRV_SECTOR_SIZE, (done + m) * BDRV_SECTOR_SIZE), { ns: 0 });
      if (err) return err;
      done += m;
    }
    return null;
  };

  /** convert_co_write. */
  const writeSectors = (sector: number, n: number, st: RunStatus): BlockIoError | null => {
    let done = 0;
    while (done < n) {
      let m = n - done;
      const off = (sector + done) * BDRV_SECTOR_SIZE;
      let zero = st === 'zero';
      if (st === 'backing') return null;
      if (st === 'data') {
        const chunk = buf.subarray(done * BDRV_SECTOR_SIZE, n * BDRV_SECTOR_SIZE);
        let write = minSparse === 0;
        if (!write && !opts.compressed) {
          const r = allocatedRunMin(chunk, m, minSparse, sector + done, alignment);
          m = r.sectors;
          write = r.data;
        } else if (!write) write = chunk.some((b) => b !== 0);
        if (write) {
          const data = chunk.subarray(0, m * BDRV_SECTOR_SIZE);
          const err = opts.compressed ? target.writeCompressed(off, data, { ns: 0 }) : target.pwritev(off, data, {}, { ns: 0 });
          if (err) return err;
        } else zero = true;
      }
      if (zero && !zeroInit) {
        const err = target.writeZeroes(off, m * BDRV_SECTOR_SIZE, { mayUnmap: true }, { ns: 0 });
        if (err) return err;
      }
      done += m;
    }
    return null;
  };

  for (let sector = 0; sector < src.total; ) {
    let n = iteration(sector);
    let st = status;
    if (minSparse === 0 && st === 'zero') {
      n = Math.min(n, bufSectors);
      buf.fill(0, 0, n * BDRV_SECTOR_SIZE);
      st = 'data';
    } else if (st === 'data') {
      const err = readSectors(sector, n);
      if (err) return E.left({ _tag: 'IoFailed', what: `error while reading sector ${sector}`, error: err });
    }
    const werr = writeSectors(sector, n, st);
    if (werr) return E.left({ _tag: 'IoFailed', what: `error while writing sector ${sector}`, error: werr });
    sector += n;
  }
  if (opts.compressed && !hasBacking) {
    // A compressed write of nothing: "end of stream", after which the format aligns its file's end.
    const err = target.writeCompressed(0, new Uint8Array(0), { ns: 0 });
    if (err) return E.left({ _tag: 'IoFailed', what: 'error while closing the compressed stream', error: err });
  }
  return E.right(undefined);
}
