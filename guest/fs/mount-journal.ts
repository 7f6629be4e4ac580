/**
 * The journal at mount: find it through its inode (s_journal_inum), map its blocks, read and
 * judge its superblock; and recovery — replay the committed transactions to their home blocks
 * (then flush), and write the journal superblock empty (FUA), as jbd2_journal_recover does.
 */
import * as E from 'fp-ts/lib/Either.js';
import { le32 } from './bytes.js';
import { FsCore } from './core.js';
import { fsError } from './errno.js';
import { blockPath, type Geometry } from './geometry.js';
import type { GroupDesc } from './group-desc.js';
import { decodeInode, isReg } from './inode.js';
import {
  checkJournalSuperblock,
  decodeJournalSuperblock,
  encodeJournalSuperblock,
  type JournalSuperblock,
} from './journal-format.js';
import { Journal } from './journal.js';
import { readBlock, readBlocks, type IoProgram } from './program.js';
import { lastWrites, planReplay } from './replay.js';
import type { Superblock } from './superblock.js';

export interface LoadedJournal {
  readonly jsb: JournalSuperblock;
  /** Disk block of each journal block. */
  readonly map: number[];
  /** The journal inode's indirect blocks. */
  readonly indirect: number[];
}

export function* loadJournal(sb: Superblock, geo: Geometry, gds: GroupDesc[]): IoProgram<LoadedJournal> {
  const ino = sb.journalInum;
  const bad = (why: string): E.Either<ReturnType<typeof fsError>, never> =>
    E.left(fsError('EINVAL', `error loading journal: journal inode ${ino} ${why}`));
  if (ino < 1 || ino > geo.inodesCount) return bad('is out of range');
  const g = Math.floor((ino - 1) / geo.inodesPerGroup);
  const idx = (ino - 1) % geo.inodesPerGroup;
  const tb = yield* readBlock(gds[g].inodeTable + Math.floor(idx / geo.inodesPerBlock));
  const inode = decodeInode(tb, (idx % geo.inodesPerBlock) * geo.inodeSize, geo.inodeSize);
  if (!isReg(inode) || inode.linksCount === 0) return bad('is not a regular file in use');
  const n = inode.size / geo.blockSize;
  if (!Number.isInteger(n) || n < 4 || n > geo.maxFileBlocks) return bad(`has a bad size ${inode.size}`);
  const inRange = (b: number): boolean => b >= geo.firstDataBlock && b < geo.blocksCount;
  // Read the indirect blocks the map goes through, level by level.
  const ind = new Map<number, Uint8Array>();
  for (let level = 1; level <= 2; level++) {
    const need = new Set<number>();
    for (let i = 0; i < n; i++) {
      const path = blockPath(geo, i) as number[];
      if (path.length <= level) continue;
      let ptr = inode.block[path[0]];
      for (let l = 1; l < level && ptr !== 0; l++) ptr = ind.has(ptr) ? le32(ind.get(ptr) as Uint8Array, path[l] * 4) : 0;
      if (ptr === 0 || !inRange(ptr)) return bad(`has a bad indirect block ${ptr}`);
      if (!ind.has(ptr)) need.add(ptr);
    }
    for (const [b, data] of yield* readBlocks(need)) ind.set(b, data);
  }
  const map: number[] = [];
  for (let i = 0; i < n; i++) {
    const path = blockPath(geo, i) as number[];
    let ptr = inode.block[path[0]];
    for (let l = 1; l < path.length; l++) ptr = le32(ind.get(ptr) as Uint8Array, path[l] * 4);
    if (ptr === 0 || !inRange(ptr)) return bad(`has a bad block ${ptr} at journal block ${i}`);
    map.push(ptr);
  }
  const jsb = decodeJournalSuperblock(yield* readBlock(map[0]));
  const problems = checkJournalSuperblock(jsb, geo.blockSize, n);
  if (problems.length > 0) return E.left(fsError('EINVAL', `error loading journal: ${problems.join('; ')}`));
  const need = Journal.minLogBlocks(FsCore.creditsFor(geo).free, geo.blockSize);
  if (jsb.maxLen - jsb.first < need)
    return E.left(fsError('EINVAL', `error loading journal: ${jsb.maxLen} blocks is too small (this file system needs ${need + jsb.first})`));
  return E.right({ jsb, map: map.slice(0, jsb.maxLen), indirect: [...ind.keys()] });
}

export function* replayJournal(
  j: LoadedJournal,
  geo: Geometry,
  warnings: string[],
): IoProgram<{ jsb: JournalSuperblock; replayed: number }> {
  const got = yield* readBlocks(j.map);
  const plan = planReplay(
    j.jsb,
    (pos) => (pos < j.map.length ? got.get(j.map[pos]) : undefined),
    (b) => b >= geo.firstDataBlock && b < geo.blocksCount,
  );
  warnings.push(...plan.problems);
  const writes = lastWrites(plan.writes);
  if (writes.length > 0) yield { kind: 'write', step: { what: 'replay', writes, barrier: 'flush' } };
  const jsb: JournalSuperblock = { ...j.jsb, start: 0, sequence: (plan.endSequence + 1) >>> 0 };
  const data = (got.get(j.map[0]) as Uint8Array).slice();
  encodeJournalSuperblock(jsb, data);
  yield { kind: 'write', step: { what: 'journal-superblock', writes: [{ block: j.map[0], data }], barrier: 'fua' } };
  return E.right({ jsb, replayed: plan.transactions });
}
