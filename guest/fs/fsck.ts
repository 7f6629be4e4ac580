/**
 * fsck: checks every invariant of the on-disk structure, after replaying the journal on a copy
 * (as e2fsck does), and lists what is wrong; a clean file system gives no findings. It reads the
 * image with its own walkers (not the mounted file system's code), so the two check each other.
 *
 *   pass 0   superblock, descriptors, journal (replayed on the copy)
 *   pass 1   inodes and their block maps (fsck-inodes.ts)
 *   pass 2-4 directories, connectivity, link counts (fsck-dirs.ts)
 *   pass 5   bitmaps and free counts against what passes 1-4 found in use
 */
import * as E from 'fp-ts/lib/Either.js';
import { defer, map, type Observable } from 'rxjs';
import { testBit } from './bitmap.js';
import type { FsBlockIo } from './block-io.js';
import { passDirs } from './fsck-dirs.js';
import { inodeOf, pass1, type FsckImage, type Pass1 } from './fsck-inodes.js';
import { finding, type FsckFinding, type FsckReport } from './fsck-report.js';
import {
  gdtFirstBlock,
  geometryOf,
  groupBlocks,
  groupFirstBlock,
  JOURNAL_INO,
  superAndGdtBlocks,
  type Geometry,
} from './geometry.js';
import { decodeGroupDesc, groupDescLocation, type GroupDesc } from './group-desc.js';
import { isDir } from './inode.js';
import { loadJournal, replayJournal } from './mount-journal.js';
import { runOnImage, type IoProgram } from './program.js';
import { checkSuperblock, decodeSuperblock, EXT3_JNL_BACKUP_BLOCKS, type Superblock } from './superblock.js';

export type { FsckCode, FsckFinding, FsckReport } from './fsck-report.js';

interface Base {
  sb: Superblock;
  geo: Geometry;
  gds: GroupDesc[];
}

function readBase(image: Uint8Array, out: FsckFinding[]): Base | undefined {
  const sb = decodeSuperblock(image.length >= 2048 ? image : new Uint8Array(2048));
  const problems = checkSuperblock(sb, image.length);
  if (problems.length > 0) {
    out.push(...problems.map((p) => finding('SUPERBLOCK', p)));
    return undefined;
  }
  const geo = geometryOf(sb);
  const bs = geo.blockSize;
  const gds: GroupDesc[] = [];
  let ok = true;
  for (let g = 0; g < geo.groups; g++) {
    const [i, off] = groupDescLocation(bs, g);
    const d = decodeGroupDesc(image, (gdtFirstBlock(bs) + i) * bs + off);
    const first = groupFirstBlock(geo, g);
    const end = first + groupBlocks(geo, g);
    const inG = (b: number, n = 1): boolean => b >= first && b + n <= end;
    for (const [what, b, n] of [['block bitmap', d.blockBitmap, 1], ['inode bitmap', d.inodeBitmap, 1], ['inode table', d.inodeTable, geo.itableBlocks]] as const)
      if (!inG(b, n)) {
        out.push(finding('GROUP_DESC', `group ${g}: ${what} at block ${b} is not inside the group (${first}..${end - 1})`, { block: b }));
        ok = false;
      }
    gds.push(d);
  }
  return ok ? { sb, geo, gds } : undefined;
}

function* journalPass(b: Base, out: FsckFinding[]): IoProgram<number> {
  yield { kind: 'blockSize', size: b.geo.blockSize };
  const j = yield* loadJournal(b.sb, b.geo, b.gds);
  if (E.isLeft(j)) {
    out.push(finding('JOURNAL', j.left.message, { ino: JOURNAL_INO }));
    return E.right(0);
  }
  if (j.right.jsb.start === 0) return E.right(0);
  const warnings: string[] = [];
  const r = yield* replayJournal(j.right, b.geo, warnings);
  out.push(...warnings.map((w) => finding('JOURNAL', w, { ino: JOURNAL_INO })));
  return E.isLeft(r) ? r : E.right(r.right.replayed);
}

/** Checks a file-system image (the image itself is not changed). */
export function fsckImage(image: Uint8Array): FsckReport {
  const out: FsckFinding[] = [];
  const copy = image.slice();
  let base = readBase(copy, out);
  if (!base) return { findings: out, replayedTransactions: 0 };
  const replay = runOnImage(journalPass(base, out), copy);
  const replayed = E.isRight(replay) ? replay.right : 0;
  if (E.isLeft(replay)) out.push(finding('JOURNAL', replay.left.message));
  if (replayed > 0) {
    base = readBase(copy, out);
    if (!base) return { findings: out, replayedTransactions: replayed };
  }
  const { sb, geo, gds } = base;
  const bs = geo.blockSize;
  const metadata = new Set<number>();
  gds.forEach((d, g) => {
    for (const b of [...superAndGdtBlocks(geo, g), d.blockBitmap, d.inodeBitmap]) metadata.add(b);
    for (let i = 0; i < geo.itableBlocks; i++) metadata.add(d.inodeTable + i);
  });
  const img: FsckImage = { geo, gds, metadata, block: (b) => copy.subarray(b * bs, (b + 1) * bs) };
  const p1 = pass1(img, out);
  passDirs(img, p1, out);
  checkJournalBackup(img, sb, out);
  pass5(img, sb, p1, out);
  return { findings: out, replayedTransactions: replayed };
}

function checkJournalBackup(img: FsckImage, sb: Superblock, out: FsckFinding[]): void {
  if (sb.jnlBackupType !== EXT3_JNL_BACKUP_BLOCKS) return;
  const j = inodeOf(img, sb.journalInum);
  const want = [...j.block, Math.floor(j.size / 2 ** 32), j.size >>> 0];
  if (want.some((v, i) => v !== sb.jnlBlocks[i])) out.push(finding('JOURNAL_BACKUP', 's_jnl_blocks does not match the journal inode'));
}

function pass5(img: FsckImage, sb: Superblock, p1: Pass1, out: FsckFinding[]): void {
  const { geo, gds } = img;
  let freeBlocks = 0;
  let freeInodes = 0;
  gds.forEach((d, g) => {
    const first = groupFirstBlock(geo, g);
    const n = groupBlocks(geo, g);
    const bm = img.block(d.blockBitmap);
    let used = 0;
    for (let i = 0; i < n; i++) {
      const b = first + i;
      const inUse = img.metadata.has(b) || p1.owner.has(b);
      if (inUse) used++;
      if (inUse !== testBit(bm, i))
        out.push(finding('BLOCK_BITMAP', `block ${b} is ${inUse ? 'in use but marked free' : 'marked in use but not used'}`, { block: b }));
    }
    for (let i = n; i < 8 * geo.blockSize; i++)
      if (!testBit(bm, i)) {
        out.push(finding('BITMAP_PADDING', `group ${g}: padding at the end of the block bitmap is not set`));
        break;
      }
    const ib = img.block(d.inodeBitmap);
    let inodesUsed = 0;
    let dirs = 0;
    for (let i = 0; i < geo.inodesPerGroup; i++) {
      const ino = g * geo.inodesPerGroup + i + 1;
      const reserved = ino < geo.firstIno;
      if (reserved && !testBit(ib, i)) out.push(finding('INODE_BITMAP', `reserved inode ${ino} is marked free`, { ino }));
      if (reserved || testBit(ib, i)) inodesUsed++;
      const inode = p1.inUse.get(ino);
      if (inode && isDir(inode)) dirs++;
    }
    for (let i = geo.inodesPerGroup; i < 8 * geo.blockSize; i++)
      if (!testBit(ib, i)) {
        out.push(finding('BITMAP_PADDING', `group ${g}: padding at the end of the inode bitmap is not set`));
        break;
      }
    const fb = n - used;
    const fi = geo.inodesPerGroup - inodesUsed;
    if (d.freeBlocksCount !== fb) out.push(finding('FREE_COUNT', `group ${g}: free blocks count ${d.freeBlocksCount}, counted ${fb}`));
    if (d.freeInodesCount !== fi) out.push(finding('FREE_COUNT', `group ${g}: free inodes count ${d.freeInodesCount}, counted ${fi}`));
    if (d.usedDirsCount !== dirs) out.push(finding('FREE_COUNT', `group ${g}: directories count ${d.usedDirsCount}, counted ${dirs}`));
    freeBlocks += fb;
    freeInodes += fi;
  });
  if (sb.freeBlocksCount !== freeBlocks) out.push(finding('FREE_COUNT', `superblock: free blocks count ${sb.freeBlocksCount}, counted ${freeBlocks}`));
  if (sb.freeInodesCount !== freeInodes) out.push(finding('FREE_COUNT', `superblock: free inodes count ${sb.freeInodesCount}, counted ${freeInodes}`));
}

/** fsck over a device: reads it whole, then checks it as fsckImage does (nothing is written). */
export function fsck(io: FsBlockIo): Observable<FsckReport> {
  return defer(() => {
    io.setBlockSize(1024);
    return io.read(0, Math.floor(io.sizeBytes / 1024));
  }).pipe(
    map((r) =>
      E.isLeft(r) ? { findings: [finding('SUPERBLOCK', `cannot read the device: ${r.left}`)], replayedTransactions: 0 } : fsckImage(r.right),
    ),
  );
}
