/**
 * Opening a VMDK image (QEMU's vmdk_open): a file that starts with "KDMV" is one sparse
 * extent with its descriptor embedded (monolithicSparse, streamOptimized); anything else
 * is a descriptor file whose extent lines name the files holding the data, relative to
 * the descriptor's directory (monolithicFlat, twoGbMaxExtentSparse/Flat). Each extent file
 * becomes a child 'extents.<n>'; a parentFileNameHint becomes the child 'backing', a
 * read-only vmdk node.
 *
 * Every problem is a message naming it; nothing an image holds can make opening throw,
 * allocate without a bound, or recurse without end (a backing chain that loops is refused).
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { OpenContext } from '../../driver.js';
import { blockErrorMessage } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import { findProtocolDriver } from '../../registry.js';
import { DESCRIPTOR_FILE_TYPES, descriptorCid, descriptorText, descriptorValue, parentFileNameHint, parseExtentLines } from './descriptor.js';
import { readTable, type Extent } from './extent.js';
import { MARKER_END_OF_STREAM, MARKER_FOOTER, SECTOR, VMDK3_MAGIC, VMDK4_GD_AT_END, VMDK4_MAGIC, decodeMarker, decodeVmdk4Header, sparseLayout } from './header.js';

/** The descriptor QEMU reads for CIDs: 20 sectors (DESC_SIZE). */
export const DESC_SIZE = 20 * SECTOR;
/** At most this much of a descriptor file is read (QEMU's bound on vmdk_read_desc). */
const MAX_DESC_READ = (1 << 20) - 1;
/** Backing chains longer than this are refused (QEMU's own chains are bounded by file descriptors). */
const MAX_CHAIN = 32;

export interface VmdkImage {
  readonly extents: Extent[];
  readonly createType: string;
  /** Where the descriptor is in `file`: 0x200 (embedded) or 0 (a descriptor file). */
  readonly descOffset: number;
  readonly cid: number;
  readonly parentCid: number;
  readonly parentHint: string | undefined;
}

/** Names of images being opened, outermost first: a backing file already here is a loop. */
const opening: string[] = [];

function readPrefix(file: BlockDriverState, at: number, max: number): Uint8Array | string {
  const len = file.getLength();
  const b = new Uint8Array(Math.max(0, Math.min(max, len - at)));
  const e = b.length > 0 ? file.preadv(at, b, { ns: 0 }) : null;
  return e ? `Could not read from file: ${e.message}` : b;
}

/** Load (or, after a power cut, reload) the tables of the sparse extent in `file`. */
export function openSparse(file: BlockDriverState, start: number, type: string | undefined, writable: boolean): Extent | string {
  const head = readPrefix(file, 0, SECTOR);
  if (typeof head === 'string') return head;
  let h = decodeVmdk4Header(head);
  if (h.magic === VMDK3_MAGIC) return 'VMDK3 (COWD) sparse extents are not supported by the model';
  if (h.magic !== VMDK4_MAGIC) return 'Image not in VMDK format';
  const len = file.getLength();
  if (h.gdOffset === VMDK4_GD_AT_END) {
    // streamOptimized: the footer (a marker, the header again, end-of-stream) overrides.
    const foot = new Uint8Array(3 * SECTOR);
    const e = len >= foot.length ? file.preadv(len - foot.length, foot, { ns: 0 }) : { message: 'file too short' };
    if (e) return `Failed to read footer: ${e.message}`;
    const fm = decodeMarker(foot.subarray(0, 16));
    const eos = decodeMarker(foot.subarray(2 * SECTOR, 2 * SECTOR + 16));
    const fh = decodeVmdk4Header(foot.subarray(SECTOR, 2 * SECTOR));
    if (fh.magic !== VMDK4_MAGIC || fm.size !== 0 || fm.type !== MARKER_FOOTER || eos.val !== 0n || eos.size !== 0 || eos.type !== MARKER_END_OF_STREAM) return 'Invalid footer';
    h = fh;
  }
  const sp = sparseLayout(h, Math.ceil(len / SECTOR), writable);
  if (typeof sp === 'string') return sp;
  const acct = { ns: 0 };
  const l1 = readTable(file, sp.l1Offset, sp.l1Size, 'grain directory', acct);
  if (typeof l1 === 'string') return l1;
  const l1Backup = sp.l1BackupOffset ? readTable(file, sp.l1BackupOffset, sp.l1Size, 'redundant grain directory', acct) : undefined;
  if (typeof l1Backup === 'string') return l1Backup;
  return {
    file,
    type,
    sectors: sp.sectors,
    start,
    flatStart: 0,
    sparse: sp,
    l1,
    l1Backup,
    cache: new Map(),
    nextClusterSector: Math.ceil(Math.ceil(len / SECTOR) / sp.clusterSectors) * sp.clusterSectors,
  };
}

/** The -blockdev spec of the protocol node for `filename`. */
function protocolSpec(filename: string): E.Either<string, Record<string, unknown>> {
  const drv = findProtocolDriver(filename);
  if (E.isLeft(drv)) return E.left(blockErrorMessage(drv.left));
  const opts = drv.right.parseFilename ? drv.right.parseFilename(filename) : E.right({ filename });
  return E.isLeft(opts) ? E.left(blockErrorMessage(opts.left)) : E.right({ driver: drv.right.formatName, ...opts.right });
}

/** A name from the image, taken relative to the directory of `file` (bdrv_dirname). */
function resolve(file: BlockDriverState, name: string): E.Either<string, string> {
  if (path.isAbsolute(name)) return E.right(name);
  if (file.filename === undefined) return E.left(`Cannot use relative paths with VMDK descriptor file '${file.nodeName}': Cannot generate a base directory for ${file.drv.formatName} nodes`);
  return E.right(path.join(path.dirname(file.filename), name));
}

function openDescriptorFile(ctx: OpenContext, file: BlockDriverState, desc: string): E.Either<string, { extents: Extent[]; createType: string }> {
  const createType = descriptorValue(desc, 'createType');
  if (createType === undefined) return E.left('invalid VMDK image descriptor');
  if (!DESCRIPTOR_FILE_TYPES.includes(createType)) return E.left(`Unsupported image type '${createType}'`);
  const lines = parseExtentLines(desc);
  if ('error' in lines) return E.left(lines.error);
  const extents: Extent[] = [];
  let start = 0;
  for (const [i, line] of lines.entries()) {
    if (line.type === 'VMFSSPARSE' || line.type === 'SESPARSE') return E.left(`Unsupported extent type '${line.type}' (not modelled)`);
    const spec = E.flatMap(resolve(file, line.filename), protocolSpec);
    if (E.isLeft(spec)) return spec;
    const child = ctx.openImpliedChild(`extents.${i}`, spec.right);
    if (E.isLeft(child)) return E.left(blockErrorMessage(child.left));
    const xf = child.right;
    xf.growable = !ctx.flags.readOnly;
    if (line.type === 'FLAT' || line.type === 'VMFS') {
      extents.push({ file: xf, type: line.type, sectors: line.sectors, start, flatStart: line.flatOffset * SECTOR, sparse: undefined, l1: new Uint32Array(0), l1Backup: undefined, cache: new Map(), nextClusterSector: 0 });
    } else {
      const e = openSparse(xf, start, line.type, !ctx.flags.readOnly);
      if (typeof e === 'string') return E.left(e);
      // As in QEMU, a sparse extent's size is its header's capacity, not the descriptor's count.
      extents.push(e);
    }
    start += extents[extents.length - 1].sectors * SECTOR;
    if (!Number.isSafeInteger(start)) return E.left('VMDK extents add up to more than the model can address');
  }
  return E.right({ extents, createType });
}

/** vmdk_open, up to (not including) the backing file. */
export function openImage(ctx: OpenContext, file: BlockDriverState): E.Either<string, VmdkImage> {
  if (file.getLength() < 4) return E.left('File is too small, not a valid image');
  const buf = readPrefix(file, 0, MAX_DESC_READ);
  if (typeof buf === 'string') return E.left(buf);
  const magic = new DataView(buf.buffer).getUint32(0, false);
  let opened: E.Either<string, { extents: Extent[]; createType: string }>;
  let descOffset: number;
  const head = decodeVmdk4Header(buf);
  if (magic === VMDK4_MAGIC && head.capacity === 0n && head.descOffset !== 0n) {
    // An empty sparse header whose descriptor lists the extents (vmdk_open_vmdk4 hands it to
    // vmdk_open_desc_file, which takes only descriptor-file create types).
    const at = head.descOffset > BigInt(file.getLength()) ? file.getLength() : Number(head.descOffset) * SECTOR;
    const text = readPrefix(file, at, MAX_DESC_READ);
    if (typeof text === 'string') return E.left(text);
    opened = openDescriptorFile(ctx, file, descriptorText(text));
    descOffset = 0x200;
  } else if (magic === VMDK4_MAGIC || magic === VMDK3_MAGIC) {
    file.growable = !ctx.flags.readOnly;
    const e = openSparse(file, 0, undefined, !ctx.flags.readOnly);
    opened = typeof e === 'string' ? E.left(e) : E.right({ extents: [e], createType: e.sparse!.compressed ? 'streamOptimized' : 'monolithicSparse' });
    descOffset = 0x200;
  } else {
    opened = openDescriptorFile(ctx, file, descriptorText(buf));
    descOffset = 0;
  }
  if (E.isLeft(opened)) return opened;
  const descBytes = descOffset ? readPrefix(file, descOffset, DESC_SIZE) : buf;
  if (typeof descBytes === 'string') return E.left(descBytes);
  const desc = descriptorText(descBytes);
  const hint = parentFileNameHint(desc);
  if (typeof hint === 'object') return E.left(hint.error);
  const cid = descriptorCid(desc, false);
  const parentCid = descriptorCid(desc, true);
  if (cid === undefined || parentCid === undefined) return E.left(`Invalid VMDK descriptor: no ${cid === undefined ? 'CID' : 'parentCID'}`);
  return E.right({ ...opened.right, descOffset, cid, parentCid, parentHint: hint });
}

/** Open the parentFileNameHint image as the child 'backing' (read-only, format vmdk). */
export function openBacking(ctx: OpenContext, file: BlockDriverState, hint: string): E.Either<string, BlockDriverState> {
  const full = resolve(file, hint);
  if (E.isLeft(full)) return full;
  const key = path.resolve(full.right);
  const self = file.filename === undefined ? undefined : path.resolve(file.filename);
  if (key === self || opening.includes(key)) return E.left(`Backing file '${hint}' makes a loop in the backing chain`);
  if (opening.length >= MAX_CHAIN) return E.left(`Backing chain is longer than ${MAX_CHAIN} images`);
  const spec = protocolSpec(full.right);
  if (E.isLeft(spec)) return spec;
  if (self !== undefined && opening.length === 0) opening.push(self);
  opening.push(key);
  try {
    const r = ctx.openImpliedChild('backing', { driver: 'vmdk', 'read-only': true, file: spec.right });
    return E.isLeft(r) ? E.left(`Could not open backing file: ${blockErrorMessage(r.left)}`) : r;
  } finally {
    opening.pop();
    if (opening.length === 1 && opening[0] === self) opening.pop();
  }
}
