/**
 * A VDI node's state: the header and the block map, loaded from the image's `file` child
 * and checked as QEMU's vdi_open checks them, plus what the model adds so that nothing an
 * image holds can make it misbehave: the block map must lie inside the file, and its size
 * is bounded.
 *
 * The block map is kept as the bytes read from the image (whole sectors, as QEMU keeps
 * it), so that writing back a sector of it writes back exactly what was there.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../block-backend-api.js';
import type { BlockDriverState } from '../../node.js';
import {
  SECTOR_SIZE,
  VDI_HEADER_SIZE,
  decodeVdiHeader,
  encodeVdiHeader,
  vdiDiskSize,
  vdiHeaderProblem,
  vdiIsAllocated,
  type VdiHeader,
} from './header.js';

/**
 * The most block-map entries the model loads (16 TiB of 1 MiB blocks, a 64 MiB map).
 * QEMU's own limit (0x3fffffff entries) would be a 4 GiB allocation sized by the image.
 */
export const VDI_MAX_BMAP_ENTRIES = 1 << 24;

export interface VdiState {
  readonly file: BlockDriverState;
  readonly nodeName: string;
  header: VdiHeader;
  /** The block map as on disk, rounded up to whole sectors. */
  bmap: Uint8Array;
  bmapView: DataView;
  /** Guest-visible size in bytes. */
  diskSize: number;
  /** After a power cut: header and map are read again from what the file kept. */
  stale: boolean;
}

export type VdiLoaded = Pick<VdiState, 'header' | 'bmap' | 'bmapView' | 'diskSize'>;

/** Read and check the header and block map of the image in `file`. */
export function loadVdi(file: BlockDriverState): E.Either<string, VdiLoaded> {
  const sector = new Uint8Array(VDI_HEADER_SIZE);
  const err = file.preadv(0, sector, { ns: 0 });
  if (err) return E.left(`Could not read VDI header: ${err.message}`);
  const header = decodeVdiHeader(sector);
  const problem = vdiHeaderProblem(header);
  if (problem) return E.left(problem);
  const entries = header.blocksInImage;
  if (entries > VDI_MAX_BMAP_ENTRIES) {
    return E.left(`unsupported VDI image (block map of ${entries} entries is larger than the ${VDI_MAX_BMAP_ENTRIES} this model loads)`);
  }
  const fileLen = file.getLength();
  if (header.offsetBmap + entries * 4 > fileLen) {
    return E.left(`VDI block map (${entries * 4} bytes at offset 0x${header.offsetBmap.toString(16)}) is past the end of the file (${fileLen} bytes)`);
  }
  const bmap = new Uint8Array(Math.ceil((entries * 4) / SECTOR_SIZE) * SECTOR_SIZE);
  const rerr = bmap.length > 0 ? file.preadv(header.offsetBmap, bmap, { ns: 0 }) : null;
  if (rerr) return E.left(`Could not read VDI block map: ${rerr.message}`);
  return E.right({ header, bmap, bmapView: new DataView(bmap.buffer), diskSize: vdiDiskSize(header) });
}

/** Reload after a power cut; an image that no longer loads fails every request. */
export function fresh(s: VdiState): BlockIoError | null {
  if (!s.stale) return null;
  const r = loadVdi(s.file);
  if (E.isLeft(r)) return { errno: 'EIO', message: `${s.nodeName}: ${r.left}` };
  Object.assign(s, r.right, { stale: false });
  return null;
}

export const bmapEntry = (s: VdiState, block: number): number => s.bmapView.getUint32(block * 4, true);

export const setBmapEntry = (s: VdiState, block: number, v: number): void => s.bmapView.setUint32(block * 4, v >>> 0, true);

/**
 * Where block `block` lives in the file: a byte offset, 'zero' for a block that reads as
 * zeroes, or an error for an entry that names no block of the image.
 */
export function blockOffset(s: VdiState, block: number): number | 'zero' | BlockIoError {
  const entry = bmapEntry(s, block);
  if (!vdiIsAllocated(entry)) return 'zero';
  if (entry >= s.header.blocksInImage) {
    return { errno: 'EIO', message: `${s.nodeName}: VDI block map entry ${entry} of block ${block} is out of range (the image has ${s.header.blocksInImage} blocks)` };
  }
  return s.header.offsetData + entry * s.header.blockSize;
}

/** The header as it should now be on disk. */
export const headerBytes = (s: VdiState): Uint8Array => encodeVdiHeader(s.header);
