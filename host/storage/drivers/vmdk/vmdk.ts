/**
 * `vmdk`: QEMU's VMware disk driver (block/vmdk.c) over a `file` child, the image file.
 * The byte layouts are in header.ts (sparse extents) and descriptor.ts (the text
 * descriptor); opening in open.ts, guest I/O in io.ts, creation in create.ts.
 *
 * Reads: every subformat QEMU creates (monolithicSparse, monolithicFlat,
 * twoGbMaxExtentSparse/Flat, streamOptimized, also VMware's streamOptimized with its
 * grain directory in the footer) and a vmdk backing image named by parentFileNameHint.
 * Writes: all of them (streamOptimized: whole new grains, as in QEMU). Nothing is cached
 * that the file does not have (grain table updates are written and flushed as they
 * happen), so flush is the generic layer flushing the children. No resize, as in QEMU
 * ("Image format driver does not support resize"). Discard, which QEMU's vmdk ignores,
 * zeroes like write-zeroes.
 */
import * as E from 'fp-ts/lib/Either.js';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, type BlockDriver, type BlockStatus } from '../../driver.js';
import { blockErrorMessage } from '../../errors.js';
import type { ImageCheckResult } from '../../image-api.js';
import type { OptionTable } from '../../options.js';
import { registerBlockDriver } from '../../registry.js';
import { VMDK_CREATE_OPTIONS, createVmdk } from './create.js';
import { probeDescriptor } from './descriptor.js';
import { clusterBytes, lookup } from './extent.js';
import { SECTOR, VMDK3_MAGIC, VMDK4_MAGIC } from './header.js';
import { readVmdk, writeVmdk, zeroVmdk } from './io.js';
import { openBacking, openImage } from './open.js';
import { findExtent, fresh, type VmdkState } from './state.js';

const OPTIONS = {} as const satisfies OptionTable;

const driverError = (message: string) => E.left({ _tag: 'DriverError' as const, driver: 'vmdk', message });

/** vmdk_co_check: every grain the tables name lies inside its file; stops at the first that does not. */
function checkVmdk(s: VmdkState): ImageCheckResult {
  const messages: string[] = [];
  let corruptions = 0;
  const acct = { ns: 0 };
  outer: for (const e of s.extents) {
    if (!e.sparse) continue;
    const cb = clusterBytes(e);
    for (let off = e.start; off < e.start + e.sectors * SECTOR; off += cb) {
      const l = lookup(e, off, acct);
      if (l.kind === 'error') {
        const eof = /points after the end/.test(l.message);
        messages.push(eof ? `ERROR: cluster offset for sector ${off / SECTOR} points after EOF` : `ERROR: could not get cluster_offset for sector ${off / SECTOR}`);
        corruptions++;
        break outer;
      }
    }
  }
  return { corruptions, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0, imageEndOffset: 0, allocatedClusters: 0, totalClusters: 0, fragmentedClusters: 0, compressedClusters: 0, messages };
}

function status(s: VmdkState, offset: number, bytes: number): BlockStatus {
  const e = findExtent(s, offset);
  if (!e || fresh(s)) return { flags: BDRV_BLOCK_DATA, pnum: Math.min(bytes, SECTOR - (offset % SECTOR)) };
  const inCluster = (offset - e.start) % clusterBytes(e);
  const pnum = Math.min(bytes, clusterBytes(e) - inCluster);
  if (!e.sparse) return { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum, map: e.flatStart + (offset - e.start), file: e.file };
  const l = lookup(e, offset, { ns: 0 });
  if (l.kind === 'zeroed') return { flags: BDRV_BLOCK_ZERO, pnum };
  // Unallocated: the backing image's (not this layer's), or zeroes when there is none.
  if (l.kind === 'unalloc') return { flags: s.backing ? 0 : BDRV_BLOCK_ZERO, pnum };
  if (l.kind !== 'ok' || e.sparse.compressed) return { flags: BDRV_BLOCK_DATA, pnum };
  return { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum, map: l.clusterOffset + inCluster, file: e.file };
}

export const vmdkDriver: BlockDriver<VmdkState, typeof OPTIONS> = {
  formatName: 'vmdk',
  options: OPTIONS,
  createOptions: VMDK_CREATE_OPTIONS,

  probe(header) {
    if (header.length < 4) return 0;
    const magic = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false);
    return magic === VMDK4_MAGIC || magic === VMDK3_MAGIC || probeDescriptor(header) ? 100 : 0;
  },

  create(filename, size, opts, ctx) {
    return createVmdk(filename, size, opts as never, ctx);
  },

  open(_opts, ctx) {
    return E.flatMap(ctx.openChild('file'), (file) => {
      const img = openImage(ctx, file);
      if (E.isLeft(img)) return driverError(img.left);
      const { extents, parentHint } = img.right;
      // Without a parentFileNameHint, a `backing` option may still name one (its CID must match).
      const backing = parentHint === undefined ? E.mapLeft(blockErrorMessage)(ctx.openOptionalChild('backing')) : openBacking(ctx, file, parentHint);
      if (E.isLeft(backing)) return driverError(backing.left);
      const last = extents[extents.length - 1];
      return E.right({
        ...img.right,
        nodeName: ctx.nodeName,
        file,
        backing: backing.right,
        length: last ? last.start + last.sectors * SECTOR : 0,
        writable: !ctx.flags.readOnly,
        cidUpdated: false,
        cidChecked: false,
        stale: false,
      });
    });
  },

  preadv(s, offset, buf, acct) {
    return readVmdk(s, offset, buf, acct);
  },

  pwritev(s, offset, data, _flags, acct) {
    return writeVmdk(s, offset, data, acct);
  },

  writeZeroes(s, offset, bytes, _flags, acct) {
    return zeroVmdk(s, offset, bytes, false, acct);
  },

  discard(s, offset, bytes, acct) {
    return zeroVmdk(s, offset, bytes, true, acct);
  },

  blockStatus(s, offset, bytes) {
    return status(s, offset, bytes);
  },

  getLength(s) {
    return s.length;
  },

  close() {},

  info(s) {
    const sparse = s.extents.map((e) => e.sparse);
    const same = sparse.every((x) => !!x === !!sparse[0] && x?.clusterSectors === sparse[0]?.clusterSectors && x?.compressed === sparse[0]?.compressed);
    return {
      clusterSize: same && sparse[0] ? sparse[0].clusterSectors * SECTOR : undefined,
      backingFilename: s.parentHint,
      backingFormat: s.parentHint === undefined ? undefined : 'vmdk',
      formatSpecific: {
        type: 'vmdk',
        data: {
          cid: s.cid,
          'parent-cid': s.parentCid,
          'create-type': s.createType,
          extents: s.extents.map((e) => ({
            'virtual-size': e.sectors * SECTOR,
            filename: e.file.filename ?? e.file.nodeName,
            ...(e.sparse ? { 'cluster-size': e.sparse.clusterSectors * SECTOR } : {}),
            format: e.type ?? '',
            ...(e.sparse?.compressed ? { compressed: true } : {}),
          })),
        },
      },
    };
  },

  check(s, fix) {
    if (fix.leaks || fix.errors) return driverError('This image format does not support checks');
    const stale = fresh(s);
    if (stale) return driverError(stale.message);
    return E.right(checkVmdk(s));
  },

  powerCut(s) {
    s.stale = true;
  },
};

registerBlockDriver(vmdkDriver);
