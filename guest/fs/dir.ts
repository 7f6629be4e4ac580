/**
 * Directories (fs/ext2/dir.c): linear lists of ext2_dir_entry_2 in the directory's blocks, which
 * are pinned metadata. Adding uses the slack of an existing entry or an unused one, else appends
 * a block; removing merges the entry into its predecessor (or clears its inode at a block start).
 */
import * as E from 'fp-ts/lib/Either.js';
import { bmapAlloc, bmapLookup } from './bmap.js';
import { bytesEqual, decodeName } from './bytes.js';
import type { FsCore } from './core.js';
import {
  direntSize,
  encodeDirent,
  isDot,
  isDotDot,
  parseDirBlock,
  type PlacedDirent,
} from './dirent.js';
import type { Errno } from './errno.js';
import { nsToTime, type Inode } from './inode.js';

export interface DirEntry {
  readonly name: string;
  readonly ino: number;
  readonly fileType: number;
}

interface DirBlock {
  readonly phys: number;
  readonly buf: Uint8Array;
  readonly entries: PlacedDirent[];
}

/** The blocks of a directory, parsed; EIO if one is missing or its chain is broken. */
function dirBlocks(core: FsCore, dirIno: number, dir: Inode): E.Either<Errno, DirBlock[]> {
  const n = Math.ceil(dir.size / core.geo.blockSize);
  const out: DirBlock[] = [];
  for (let i = 0; i < n; i++) {
    const phys = bmapLookup(core, dir, i);
    if (E.isLeft(phys)) return phys;
    if (phys.right === 0) return core.corrupt(`directory inode ${dirIno} has a hole at block ${i}`);
    const buf = core.buffer(phys.right);
    if (!buf) return core.corrupt(`directory inode ${dirIno} block ${phys.right} is not loaded`);
    const parsed = parseDirBlock(buf);
    if (parsed.problems.length > 0)
      return core.corrupt(`directory inode ${dirIno} block ${phys.right}: ${parsed.problems.join('; ')}`);
    out.push({ phys: phys.right, buf, entries: parsed.entries });
  }
  return E.right(out);
}

interface Found {
  readonly block: DirBlock;
  readonly index: number;
  readonly entry: PlacedDirent;
}

function find(core: FsCore, dirIno: number, name: Uint8Array): E.Either<Errno, Found | undefined> {
  const blocks = dirBlocks(core, dirIno, core.inode(dirIno));
  if (E.isLeft(blocks)) return blocks;
  for (const block of blocks.right)
    for (let index = 0; index < block.entries.length; index++) {
      const entry = block.entries[index];
      if (entry.inode !== 0 && bytesEqual(entry.name, name)) return E.right({ block, index, entry });
    }
  return E.right(undefined);
}

/** The inode `name` names in directory `dirIno`, or undefined. */
export function dirLookup(core: FsCore, dirIno: number, name: Uint8Array): E.Either<Errno, number | undefined> {
  const f = find(core, dirIno, name);
  if (E.isLeft(f)) return f;
  if (f.right && !core.validIno(f.right.entry.inode))
    return core.corrupt(`directory inode ${dirIno} entry '${decodeName(name)}' names inode ${f.right.entry.inode}, out of range`);
  return E.right(f.right?.entry.inode);
}

/** Every entry in use, "." and ".." included, in on-disk order. */
export function dirList(core: FsCore, dirIno: number): E.Either<Errno, DirEntry[]> {
  const blocks = dirBlocks(core, dirIno, core.inode(dirIno));
  if (E.isLeft(blocks)) return blocks;
  return E.right(
    blocks.right.flatMap((b) =>
      b.entries.filter((e) => e.inode !== 0).map((e) => ({ name: decodeName(e.name), ino: e.inode, fileType: e.fileType })),
    ),
  );
}

/** Whether a directory holds nothing but "." and "..". */
export function dirIsEmpty(core: FsCore, dirIno: number): E.Either<Errno, boolean> {
  const l = dirList(core, dirIno);
  if (E.isLeft(l)) return l;
  return E.right(l.right.every((e) => e.name === '.' || e.name === '..'));
}

function touchDir(core: FsCore, dirIno: number, dir: Inode): void {
  const [sec, extra] = nsToTime(core.now());
  dir.mtime = dir.ctime = sec;
  dir.mtimeExtra = dir.ctimeExtra = extra;
  core.putInode(dirIno, dir);
}

/** Adds `name` → `ino` to a directory (the name must not exist yet). */
export function dirAdd(core: FsCore, dirIno: number, name: Uint8Array, ino: number, fileType: number): E.Either<Errno, void> {
  const need = direntSize(name.length);
  const dir = core.inode(dirIno);
  const blocks = dirBlocks(core, dirIno, dir);
  if (E.isLeft(blocks)) return blocks;
  for (const block of blocks.right)
    for (const e of block.entries) {
      const used = e.inode === 0 ? 0 : direntSize(e.nameLen);
      if (e.recLen - used < need) continue;
      const buf = core.access(block.phys);
      if (e.inode === 0) encodeDirent({ inode: ino, recLen: e.recLen, nameLen: name.length, fileType, name }, buf, e.offset);
      else {
        encodeDirent({ ...e, recLen: used }, buf, e.offset);
        encodeDirent({ inode: ino, recLen: e.recLen - used, nameLen: name.length, fileType, name }, buf, e.offset + used);
      }
      touchDir(core, dirIno, dir);
      return E.right(undefined);
    }
  const n = Math.ceil(dir.size / core.geo.blockSize);
  const nb = bmapAlloc(core, dirIno, dir, n, true);
  if (E.isLeft(nb)) return nb;
  const buf = core.access(nb.right.block);
  buf.fill(0);
  encodeDirent({ inode: ino, recLen: core.geo.blockSize, nameLen: name.length, fileType, name }, buf, 0);
  dir.size = (n + 1) * core.geo.blockSize;
  touchDir(core, dirIno, dir);
  return E.right(undefined);
}

/** Removes `name` from a directory; returns the inode it named. ENOENT if absent. */
export function dirRemove(core: FsCore, dirIno: number, name: Uint8Array): E.Either<Errno, number> {
  if (isDot(name) || isDotDot(name)) return E.left('EINVAL');
  const f = find(core, dirIno, name);
  if (E.isLeft(f)) return f;
  if (!f.right) return E.left('ENOENT');
  const { block, index, entry } = f.right;
  const buf = core.access(block.phys);
  if (index === 0) encodeDirent({ ...entry, inode: 0 }, buf, entry.offset);
  else {
    const prev = block.entries[index - 1];
    encodeDirent({ ...prev, recLen: prev.recLen + entry.recLen }, buf, prev.offset);
  }
  touchDir(core, dirIno, core.inode(dirIno));
  return E.right(entry.inode);
}

/** Points an existing entry at another inode (rename over a target, or a moved directory's ".."). */
export function dirRetarget(core: FsCore, dirIno: number, name: Uint8Array, ino: number, fileType: number): E.Either<Errno, void> {
  const f = find(core, dirIno, name);
  if (E.isLeft(f)) return f;
  if (!f.right) return core.corrupt(`directory inode ${dirIno} lost its entry '${decodeName(name)}'`);
  encodeDirent({ ...f.right.entry, inode: ino, fileType }, core.access(f.right.block.phys), f.right.entry.offset);
  if (!isDotDot(name)) touchDir(core, dirIno, core.inode(dirIno));
  return E.right(undefined);
}
