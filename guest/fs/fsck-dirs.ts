/**
 * fsck passes 2–4 (e2fsck pass2.c, pass3.c, pass4.c): every directory block's rec_len chain,
 * names, "." and "..", file types and targets; then connectivity from the root (each directory
 * reached from one parent, whose inode its ".." names; nothing in use left unreachable); then
 * link counts against the entries that name each inode.
 */
import { bytesEqual, decodeName } from './bytes.js';
import { isDot, isDotDot, parseDirBlock, validName } from './dirent.js';
import { finding, type FsckFinding } from './fsck-report.js';
import type { FsckImage, Pass1 } from './fsck-inodes.js';
import { ROOT_INO } from './geometry.js';
import { fileTypeOfMode, isDir } from './inode.js';

interface Entry {
  readonly name: Uint8Array;
  readonly ino: number;
}

export function passDirs(img: FsckImage, p1: Pass1, out: FsckFinding[]): void {
  const { geo } = img;
  const refs = new Map<number, number>();
  const children = new Map<number, Entry[]>();
  const dotdot = new Map<number, number>();
  for (const [dir, blocks] of p1.dirBlocks) {
    const entries: Entry[] = [];
    let index = 0;
    blocks.forEach((b, k) => {
      if (b === 0) return;
      const parsed = parseDirBlock(img.block(b));
      for (const pr of parsed.problems) out.push(finding('DIR_ENTRY', `directory inode ${dir} block ${b}: ${pr}`, { ino: dir, block: b }));
      for (const e of parsed.entries) {
        const i = index++;
        if (k === 0 && i === 0) {
          if (!isDot(e.name) || e.inode !== dir) out.push(finding('DIR_DOT', `directory inode ${dir}: first entry is not '.' pointing to itself`, { ino: dir }));
        } else if (k === 0 && i === 1) {
          if (!isDotDot(e.name) || e.inode === 0) out.push(finding('DIR_DOT', `directory inode ${dir}: second entry is not '..'`, { ino: dir }));
          else dotdot.set(dir, e.inode);
        }
        if (e.inode === 0) continue;
        const where = `directory inode ${dir} entry '${decodeName(e.name)}'`;
        const special = k === 0 && i < 2;
        if (!special && (!validName(e.name) || isDot(e.name) || isDotDot(e.name))) {
          out.push(finding('DIR_ENTRY', `${where}: bad name`, { ino: dir }));
          continue;
        }
        if (e.inode > geo.inodesCount) {
          out.push(finding('DIR_ENTRY', `${where}: inode ${e.inode} is out of range`, { ino: dir }));
          continue;
        }
        const target = p1.inUse.get(e.inode);
        if (!target) {
          out.push(finding('DIR_ENTRY', `${where}: inode ${e.inode} is ${e.inode < geo.firstIno && e.inode !== ROOT_INO ? 'reserved' : 'not in use'}`, { ino: dir }));
          continue;
        }
        refs.set(e.inode, (refs.get(e.inode) ?? 0) + 1);
        if (e.fileType !== fileTypeOfMode(target.mode))
          out.push(finding('DIR_FILETYPE', `${where}: file type ${e.fileType}, the inode says ${fileTypeOfMode(target.mode)}`, { ino: dir }));
        if (special) continue;
        if (entries.some((x) => bytesEqual(x.name, e.name))) out.push(finding('DIR_DUP_NAME', `${where}: duplicate name`, { ino: dir }));
        entries.push({ name: e.name, ino: e.inode });
      }
    });
    children.set(dir, entries);
  }
  // Pass 3: connectivity.
  const parentOf = new Map<number, number>([[ROOT_INO, ROOT_INO]]);
  const reached = new Set<number>([ROOT_INO]);
  const queue = [ROOT_INO];
  while (queue.length > 0) {
    const dir = queue.shift() as number;
    for (const e of children.get(dir) ?? []) {
      const t = p1.inUse.get(e.ino);
      if (t && isDir(t)) {
        if (parentOf.has(e.ino)) {
          out.push(finding('DIR_PARENTS', `directory inode ${e.ino} is reached from inode ${parentOf.get(e.ino)} and from inode ${dir}`, { ino: e.ino }));
          continue;
        }
        parentOf.set(e.ino, dir);
        queue.push(e.ino);
      }
      reached.add(e.ino);
    }
  }
  for (const [dir, parent] of parentOf)
    if (p1.dirBlocks.has(dir) && dotdot.has(dir) && dotdot.get(dir) !== parent)
      out.push(finding('DIR_DOT', `directory inode ${dir}: '..' is ${dotdot.get(dir)}, its parent is ${parent}`, { ino: dir }));
  for (const [ino, i] of p1.inUse) {
    if (ino < geo.firstIno && ino !== ROOT_INO) continue;
    if (!reached.has(ino))
      out.push(finding('ORPHAN', `${isDir(i) ? 'directory' : 'file'} inode ${ino} is in use but no path reaches it`, { ino }));
    // Pass 4: link counts.
    const n = refs.get(ino) ?? 0;
    if (n !== i.linksCount) out.push(finding('LINK_COUNT', `inode ${ino} has i_links_count ${i.linksCount}, counted ${n}`, { ino }));
  }
}
