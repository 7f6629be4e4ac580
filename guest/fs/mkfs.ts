/**
 * mkfs: lays out an empty file system with a journal, a root directory and lost+found, and
 * writes it: everything but the primary superblock, a flush, then the primary superblock with
 * FUA — until that last write the device holds no file system.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { setBit } from './bitmap.js';
import type { BlockWrite, FsBlockIo, WritePlan } from './block-io.js';
import { encodeName, setLe32 } from './bytes.js';
import { encodeDirent, newDirBlock } from './dirent.js';
import { type FsError } from './errno.js';
import { encodeGroupDesc } from './group-desc.js';
import {
  DIND_BLOCK,
  GROUP_DESC_SIZE,
  IND_BLOCK,
  JOURNAL_INO,
  LOST_FOUND_INO,
  NDIR_BLOCKS,
  ROOT_INO,
  superblockOffsetInBlock,
  type Geometry,
} from './geometry.js';
import { emptyInode, encodeInode, EXTRA_ISIZE, FT_DIR, nsToTime, S_IFDIR, S_IFREG, type Inode } from './inode.js';
import { encodeJournalSuperblock, JBD2_FEATURE_INCOMPAT_REVOKE, JBD2_MAGIC, JBD2_SUPERBLOCK_V2 } from './journal-format.js';
import { planLayout, type MkfsLayout, type MkfsOptions } from './mkfs-layout.js';
import { runOnIo, type IoProgram } from './program.js';
import {
  COMPAT_HAS_JOURNAL,
  encodeSuperblock,
  EXT2_SUPER_MAGIC,
  EXT2_VALID_FS,
  EXT3_JNL_BACKUP_BLOCKS,
  INCOMPAT_FILETYPE,
  RO_COMPAT_LARGE_FILE,
  RO_COMPAT_SPARSE_SUPER,
  type Superblock,
} from './superblock.js';

export type { MkfsOptions } from './mkfs-layout.js';

export interface MkfsResult {
  readonly geometry: Geometry;
  /** First block of the (contiguous) journal and its length. */
  readonly journalStart: number;
  readonly journalBlocks: number;
}

/** A deterministic version-4-shaped UUID from the layout (no randomness outside the seed). */
function defaultUuid(seed: number): Uint8Array {
  const u = new Uint8Array(16);
  let x = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < 16; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    u[i] = x >>> 24;
  }
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  return u;
}

/** The journal inode's i_block and the contents of its indirect blocks. */
function journalMap(l: MkfsLayout): { block: number[]; indirect: Map<number, Uint8Array> } {
  const { blockSize: bs, ptrsPerBlock: p } = l.geo;
  const block = new Array<number>(15).fill(0);
  const indirect = new Map<number, Uint8Array>();
  const j = l.journalBlocks;
  for (let i = 0; i < Math.min(j, NDIR_BLOCKS); i++) block[i] = l.journalStart + i;
  if (j > NDIR_BLOCKS) {
    const ind = new Uint8Array(bs);
    for (let k = 0; k < Math.min(p, j - NDIR_BLOCKS); k++) setLe32(ind, 4 * k, l.journalStart + NDIR_BLOCKS + k);
    block[IND_BLOCK] = l.journalIndirect[0];
    indirect.set(block[IND_BLOCK], ind);
  }
  if (j > NDIR_BLOCKS + p) {
    const dind = new Uint8Array(bs);
    block[DIND_BLOCK] = l.journalIndirect[1];
    for (let m = 0; NDIR_BLOCKS + p + m * p < j; m++) {
      const inner = new Uint8Array(bs);
      const first = NDIR_BLOCKS + p + m * p;
      for (let k = 0; k < p && first + k < j; k++) setLe32(inner, 4 * k, l.journalStart + first + k);
      setLe32(dind, 4 * m, l.journalIndirect[2 + m]);
      indirect.set(l.journalIndirect[2 + m], inner);
    }
    indirect.set(block[DIND_BLOCK], dind);
  }
  return { block, indirect };
}

/** Every block mkfs writes, the primary superblock's block last. */
export function mkfsWrites(o: MkfsOptions, deviceBytes: number): E.Either<FsError, { plan: WritePlan; result: MkfsResult }> {
  const planned = planLayout(o, deviceBytes);
  if (E.isLeft(planned)) return planned;
  const l = planned.right;
  const geo = l.geo;
  const bs = geo.blockSize;
  const [sec, extra] = nsToTime(o.now ?? 0);
  const out = new Map<number, Uint8Array>();
  const blk = (b: number): Uint8Array => {
    let x = out.get(b);
    if (!x) out.set(b, (x = new Uint8Array(bs)));
    return x;
  };
  const used = new Set<number>();
  const j = journalMap(l);
  const rootBlk = l.journalStart + l.journalBlocks + l.journalIndirect.length;
  const lfBlk = rootBlk + 1;
  for (let i = 0; i < l.journalBlocks; i++) used.add(l.journalStart + i);
  for (const b of [...l.journalIndirect, rootBlk, lfBlk]) used.add(b);
  for (const g of l.groups) {
    for (const b of [...g.superAndGdt, g.blockBitmap, g.inodeBitmap]) used.add(b);
    for (let i = 0; i < geo.itableBlocks; i++) used.add(g.inodeTable + i);
  }
  // Inodes.
  const putInode = (ino: number, i: Inode): void => {
    const g = l.groups[Math.floor((ino - 1) / geo.inodesPerGroup)];
    const idx = (ino - 1) % geo.inodesPerGroup;
    encodeInode(i, blk(g.inodeTable + Math.floor(idx / geo.inodesPerBlock)), (idx % geo.inodesPerBlock) * geo.inodeSize, geo.inodeSize);
  };
  const inode = (mode: number, links: number, size: number, nblocks: number, block: number[]): Inode => ({
    ...emptyInode(),
    mode, linksCount: links, size, blocks: (nblocks * bs) / 512, block,
    atime: sec, ctime: sec, mtime: sec, crtime: sec, atimeExtra: extra, ctimeExtra: extra, mtimeExtra: extra, crtimeExtra: extra,
    extraIsize: geo.inodeSize > 128 ? EXTRA_ISIZE : 0,
  });
  for (const g of l.groups) for (let i = 0; i < geo.itableBlocks; i++) blk(g.inodeTable + i);
  const ptrs = (first: number): number[] => [first, ...new Array<number>(14).fill(0)];
  putInode(ROOT_INO, inode(S_IFDIR | 0o755, 3, bs, 1, ptrs(rootBlk)));
  putInode(LOST_FOUND_INO, inode(S_IFDIR | 0o700, 2, bs, 1, ptrs(lfBlk)));
  putInode(JOURNAL_INO, inode(S_IFREG | 0o600, 1, l.journalBlocks * bs, l.journalBlocks + l.journalIndirect.length, j.block));
  // Directories.
  const root = newDirBlock(bs, ROOT_INO, ROOT_INO, FT_DIR);
  const name = encodeName('lost+found');
  encodeDirent({ inode: ROOT_INO, recLen: 12, nameLen: 2, fileType: FT_DIR, name: Uint8Array.of(0x2e, 0x2e) }, root, 12);
  encodeDirent({ inode: LOST_FOUND_INO, recLen: bs - 24, nameLen: name.length, fileType: FT_DIR, name }, root, 24);
  out.set(rootBlk, root);
  out.set(lfBlk, newDirBlock(bs, LOST_FOUND_INO, ROOT_INO, FT_DIR));
  for (const [b, data] of j.indirect) out.set(b, data);
  // Journal: zeroed, with its superblock first.
  const uuid = o.uuid ?? defaultUuid(geo.blocksCount * 31 + bs);
  for (let i = 1; i < l.journalBlocks; i++) blk(l.journalStart + i);
  encodeJournalSuperblock(
    {
      header: { magic: JBD2_MAGIC, blockType: JBD2_SUPERBLOCK_V2, sequence: 0 },
      blockSize: bs, maxLen: l.journalBlocks, first: 1, sequence: 1, start: 0, errno: 0,
      featureCompat: 0, featureIncompat: JBD2_FEATURE_INCOMPAT_REVOKE, featureRoCompat: 0,
      uuid, nrUsers: 1, maxTransaction: 0, maxTransData: 0,
    },
    blk(l.journalStart),
  );
  // Bitmaps and descriptors.
  const gdt = new Uint8Array(geo.gdtBlocks * bs);
  let freeBlocks = 0;
  let freeInodes = 0;
  l.groups.forEach((g, gi) => {
    const bb = blk(g.blockBitmap);
    let usedHere = 0;
    for (let i = 0; i < 8 * bs; i++) if (i >= g.blocks || used.has(g.first + i)) (setBit(bb, i), (usedHere += i < g.blocks ? 1 : 0));
    const ib = blk(g.inodeBitmap);
    const usedInodes = gi === 0 ? geo.firstIno : 0; // 1..10 reserved, 11 lost+found
    for (let i = 0; i < 8 * bs; i++) if (i < usedInodes || i >= geo.inodesPerGroup) setBit(ib, i);
    const d = {
      blockBitmap: g.blockBitmap, inodeBitmap: g.inodeBitmap, inodeTable: g.inodeTable,
      freeBlocksCount: g.blocks - usedHere, freeInodesCount: geo.inodesPerGroup - usedInodes,
      usedDirsCount: gi === 0 ? 2 : 0, flags: 0, itableUnused: 0, checksum: 0,
    };
    freeBlocks += d.freeBlocksCount;
    freeInodes += d.freeInodesCount;
    encodeGroupDesc(d, gdt, gi * GROUP_DESC_SIZE);
  });
  const sb: Superblock = {
    inodesCount: geo.inodesCount, blocksCount: geo.blocksCount, rBlocksCount: 0,
    freeBlocksCount: freeBlocks, freeInodesCount: freeInodes, firstDataBlock: geo.firstDataBlock,
    logBlockSize: Math.log2(bs) - 10, logClusterSize: Math.log2(bs) - 10,
    blocksPerGroup: geo.blocksPerGroup, clustersPerGroup: geo.blocksPerGroup, inodesPerGroup: geo.inodesPerGroup,
    mtime: 0, wtime: sec, mntCount: 0, maxMntCount: 0xffff, magic: EXT2_SUPER_MAGIC, state: EXT2_VALID_FS,
    errors: 1, minorRevLevel: 0, lastcheck: sec, checkinterval: 0, creatorOs: 0, revLevel: 1,
    defResuid: 0, defResgid: 0, firstIno: geo.firstIno, inodeSize: geo.inodeSize, blockGroupNr: 0,
    featureCompat: COMPAT_HAS_JOURNAL, featureIncompat: INCOMPAT_FILETYPE,
    featureRoCompat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE,
    uuid, volumeName: (() => { const v = new Uint8Array(16); v.set(encodeName(o.volumeName ?? '').subarray(0, 16)); return v; })(),
    journalInum: JOURNAL_INO, lastOrphan: 0, defHashVersion: 0, jnlBackupType: EXT3_JNL_BACKUP_BLOCKS,
    descSize: 0, mkfsTime: sec, jnlBlocks: [...j.block, 0, l.journalBlocks * bs],
    minExtraIsize: geo.inodeSize > 128 ? EXTRA_ISIZE : 0, wantExtraIsize: geo.inodeSize > 128 ? EXTRA_ISIZE : 0,
  };
  l.groups.forEach((g, gi) => {
    if (g.superAndGdt.length === 0) return;
    const [sbBlock, ...gdtBlocks] = g.superAndGdt;
    encodeSuperblock({ ...sb, blockGroupNr: gi }, blk(sbBlock), gi === 0 ? superblockOffsetInBlock(bs) : 0);
    gdtBlocks.forEach((b, i) => blk(b).set(gdt.subarray(i * bs, (i + 1) * bs)));
  });
  const primary = l.groups[0].superAndGdt[0];
  const rest: BlockWrite[] = [...out].filter(([b]) => b !== primary).sort((a, b) => a[0] - b[0]).map(([block, data]) => ({ block, data }));
  return E.right({
    plan: {
      steps: [
        { what: 'mkfs', writes: rest, barrier: 'flush' },
        { what: 'mkfs', writes: [{ block: primary, data: out.get(primary) as Uint8Array }], barrier: 'fua' },
      ],
    },
    result: { geometry: geo, journalStart: l.journalStart, journalBlocks: l.journalBlocks },
  });
}

function* mkfsProgram(o: MkfsOptions, deviceBytes: number): IoProgram<MkfsResult> {
  const w = mkfsWrites(o, deviceBytes);
  if (E.isLeft(w)) return w;
  yield { kind: 'blockSize', size: w.right.result.geometry.blockSize };
  for (const step of w.right.plan.steps) yield { kind: 'write', step };
  return E.right(w.right.result);
}

/** Makes a file system on `io`. */
export function mkfs(io: FsBlockIo, o: MkfsOptions): Observable<E.Either<FsError, MkfsResult>> {
  return runOnIo(mkfsProgram(o, io.sizeBytes), io);
}

/** Makes a file system in a byte image, synchronously (tests, tools). */
export function mkfsImage(image: Uint8Array, o: MkfsOptions): E.Either<FsError, MkfsResult> {
  const w = mkfsWrites(o, image.length);
  if (E.isLeft(w)) return w;
  const bs = w.right.result.geometry.blockSize;
  for (const s of w.right.plan.steps) for (const x of s.writes) image.set(x.data, x.block * bs);
  return E.right(w.right.result);
}
