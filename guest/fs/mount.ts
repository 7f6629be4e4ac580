/**
 * mount (ext4_fill_super, much simplified): read the superblock in 1024-byte units and judge it;
 * switch to the file system's block size; read the descriptors and judge them
 * (ext4_check_descriptors); find the journal through its inode and replay it if its superblock
 * says the log is not empty; then read every metadata block — bitmaps, inode tables, and the
 * directory and indirect blocks of every inode in use — and pin it; finally, on a read-write
 * mount, write the superblock marked "not clean, needs recovery" (FUA).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { testBit } from './bitmap.js';
import type { FsBlockIo } from './block-io.js';
import { BlockSet } from './block-set.js';
import { le32 } from './bytes.js';
import { FsCore } from './core.js';
import { fsError, type FsError } from './errno.js';
import { Fs } from './fs.js';
import {
  DIND_BLOCK,
  IND_BLOCK,
  NDIR_BLOCKS,
  geometryOf,
  gdtFirstBlock,
  groupBlocks,
  groupFirstBlock,
  superblockBlock,
  superAndGdtBlocks,
  superblockOffsetInBlock,
  type Geometry,
} from './geometry.js';
import { decodeGroupDesc, groupDescLocation, type GroupDesc } from './group-desc.js';
import { decodeInode, isDir, isReg, nsToTime } from './inode.js';
import { Journal } from './journal.js';
import { loadJournal, replayJournal } from './mount-journal.js';
import { readBlock, readBlocks, runOnImage, runOnIo, type IoProgram } from './program.js';
import {
  checkSuperblock,
  decodeSuperblock,
  encodeSuperblock,
  EXT2_VALID_FS,
  INCOMPAT_RECOVER,
  type Superblock,
} from './superblock.js';

export interface MountOptions {
  /** The virtual clock, in ns (inode times, commit times). Default: always 0. */
  readonly now?: () => number;
  /** Mount read-only: no operation may change anything (EROFS); the journal is still replayed. */
  readonly readOnly?: boolean;
}

interface Base {
  sb: Superblock;
  geo: Geometry;
  gds: GroupDesc[];
  bufs: Map<number, Uint8Array>;
}

/** Reads and judges the superblock and the descriptors. */
function* readBase(deviceBytes: number, readOnly: boolean): IoProgram<Base> {
  yield { kind: 'blockSize', size: 1024 };
  const raw = yield* readBlock(1);
  const sb = decodeSuperblock(raw, 0);
  const problems = checkSuperblock(sb, deviceBytes, readOnly);
  if (problems.length > 0) return E.left(fsError('EINVAL', problems.join('; ')));
  const geo = geometryOf(sb);
  const bs = geo.blockSize;
  yield { kind: 'blockSize', size: bs };
  const gdtFirst = gdtFirstBlock(bs);
  const sbBlock = superblockBlock(bs);
  const bufs = yield* readBlocks([sbBlock, ...Array.from({ length: geo.gdtBlocks }, (_, i) => gdtFirst + i)]);
  const gds: GroupDesc[] = [];
  for (let g = 0; g < geo.groups; g++) {
    const [i, off] = groupDescLocation(bs, g);
    const d = decodeGroupDesc(bufs.get(gdtFirst + i) as Uint8Array, off);
    const first = groupFirstBlock(geo, g);
    const last = first + groupBlocks(geo, g) - 1;
    const inGroup = (b: number): boolean => b >= first && b <= last;
    if (!inGroup(d.blockBitmap))
      return E.left(fsError('EUCLEAN', `ext3_check_descriptors: Block bitmap for group ${g} not in group (block ${d.blockBitmap})!`));
    if (!inGroup(d.inodeBitmap))
      return E.left(fsError('EUCLEAN', `ext3_check_descriptors: Inode bitmap for group ${g} not in group (block ${d.inodeBitmap})!`));
    if (!inGroup(d.inodeTable) || !inGroup(d.inodeTable + geo.itableBlocks - 1))
      return E.left(fsError('EUCLEAN', `ext3_check_descriptors: Inode table for group ${g} not in group (block ${d.inodeTable})!`));
    gds.push(d);
  }
  return E.right({ sb, geo, gds, bufs: new Map(bufs) });
}

/** Reads the bitmaps, inode tables and every directory and indirect block in use. */
function* loadMetadata(base: Base, warnings: string[]): IoProgram<void> {
  const { geo, gds, bufs } = base;
  const fixed: number[] = [];
  for (const d of gds) {
    fixed.push(d.blockBitmap, d.inodeBitmap);
    for (let i = 0; i < geo.itableBlocks; i++) fixed.push(d.inodeTable + i);
  }
  for (const [b, data] of yield* readBlocks(fixed)) bufs.set(b, data);
  // [block, depth (0 = data), of a directory]
  let pending = new Map<number, [number, boolean]>();
  const inRange = (b: number): boolean => b >= geo.firstDataBlock && b < geo.blocksCount;
  const want = (b: number, depth: number, dir: boolean, who: string): void => {
    if (b === 0 || bufs.has(b) || pending.has(b)) return;
    if (!inRange(b)) warnings.push(`${who}: block ${b} is outside the file system`);
    else pending.set(b, [depth, dir]);
  };
  gds.forEach((d, g) => {
    const ib = bufs.get(d.inodeBitmap) as Uint8Array;
    for (let idx = 0; idx < geo.inodesPerGroup; idx++) {
      if (!testBit(ib, idx)) continue;
      const ino = g * geo.inodesPerGroup + idx + 1;
      const blk = bufs.get(d.inodeTable + Math.floor(idx / geo.inodesPerBlock)) as Uint8Array;
      const inode = decodeInode(blk, (idx % geo.inodesPerBlock) * geo.inodeSize, geo.inodeSize);
      const dir = isDir(inode);
      if (!dir && !isReg(inode)) continue;
      if (dir) for (let i = 0; i < NDIR_BLOCKS; i++) want(inode.block[i], 0, true, `inode ${ino}`);
      want(inode.block[IND_BLOCK], 1, dir, `inode ${ino}`);
      want(inode.block[DIND_BLOCK], 2, dir, `inode ${ino}`);
    }
  });
  while (pending.size > 0) {
    const batch = pending;
    pending = new Map();
    const got = yield* readBlocks(batch.keys());
    for (const [b, [depth, dir]] of batch) {
      const data = got.get(b) as Uint8Array;
      bufs.set(b, data);
      if (depth === 0 || (depth === 1 && !dir)) continue;
      for (let i = 0; i < geo.ptrsPerBlock; i++) want(le32(data, 4 * i), depth - 1, dir, `indirect block ${b}`);
    }
  }
  return E.right(undefined);
}

function* mountProgram(deviceBytes: number, opts: MountOptions, io?: FsBlockIo): IoProgram<Fs> {
  const readOnly = opts.readOnly ?? false;
  const now = opts.now ?? ((): number => 0);
  let base = yield* readBase(deviceBytes, readOnly);
  if (E.isLeft(base)) return base;
  const j = yield* loadJournal(base.right.sb, base.right.geo, base.right.gds);
  if (E.isLeft(j)) return j;
  const warnings: string[] = [];
  let jsb = j.right.jsb;
  let replayed = 0;
  if (jsb.start !== 0) {
    const r = yield* replayJournal(j.right, base.right.geo, warnings);
    if (E.isLeft(r)) return r;
    ({ jsb, replayed } = r.right);
    base = yield* readBase(deviceBytes, readOnly);
    if (E.isLeft(base)) return E.left(fsError(base.left.errno, `after journal replay: ${base.left.message}`));
  }
  const { sb, geo, bufs } = base.right;
  if (!readOnly && (sb.state & EXT2_VALID_FS) === 0 && replayed === 0 && (sb.featureIncompat & INCOMPAT_RECOVER) === 0)
    warnings.push('warning: mounting unchecked fs, running e2fsck is recommended');
  const loaded = yield* loadMetadata(base.right, warnings);
  if (E.isLeft(loaded)) return loaded;
  const sbBlock = superblockBlock(geo.blockSize);
  if (!readOnly) {
    const buf = bufs.get(sbBlock) as Uint8Array;
    const s = { ...sb };
    s.state &= ~EXT2_VALID_FS;
    s.featureIncompat |= INCOMPAT_RECOVER;
    s.mntCount = (s.mntCount + 1) & 0xffff;
    s.mtime = s.wtime = nsToTime(now())[0];
    encodeSuperblock(s, buf, superblockOffsetInBlock(geo.blockSize));
    yield { kind: 'write', step: { what: 'superblock', writes: [{ block: sbBlock, data: buf.slice() }], barrier: 'fua' } };
  }
  const reserved = new BlockSet(geo.blocksCount);
  for (const b of j.right.map) reserved.add(b);
  for (const b of j.right.indirect) reserved.add(b);
  base.right.gds.forEach((d, g) => {
    for (const b of [...superAndGdtBlocks(geo, g), d.blockBitmap, d.inodeBitmap]) reserved.add(b);
    for (let i = 0; i < geo.itableBlocks; i++) reserved.add(d.inodeTable + i);
  });
  const core = new FsCore({
    geo,
    bufs,
    journal: new Journal({ blockSize: geo.blockSize, map: j.right.map, jsb, maxCredits: FsCore.creditsFor(geo).free, now }),
    now,
    readOnly,
    errors: [],
    reserved,
  });
  return E.right(new Fs(core, { replayedTransactions: replayed, warnings }, io));
}

/** Mounts the file system on `io` (replaying its journal first). */
export function mount(io: FsBlockIo, opts: MountOptions = {}): Observable<E.Either<FsError, Fs>> {
  return runOnIo(mountProgram(io.sizeBytes, opts, io), io);
}

/** Mounts a file system held in a byte image, synchronously; writes (replay, mount state) go to the image. */
export function mountImage(image: Uint8Array, opts: MountOptions = {}): E.Either<FsError, Fs> {
  return runOnImage(mountProgram(image.length, opts), image);
}
