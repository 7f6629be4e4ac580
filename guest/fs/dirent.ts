/**
 * Directory entries (struct ext2_dir_entry_2; LAYOUT.md): inode u32, rec_len u16, name_len u8,
 * file_type u8, then the name, padded to 4 bytes. Entries chain by rec_len and tile each block
 * exactly; inode 0 marks an unused entry. A directory's first block starts with "." (rec_len
 * 12) and "..". Parsing is total: a broken chain stops the parse with a problem, never a throw.
 */
import { le16, le32, setLe16, setLe32 } from './bytes.js';

export const DIRENT_HEADER = 8;

export interface Dirent {
  inode: number;
  recLen: number;
  nameLen: number;
  fileType: number;
  name: Uint8Array;
}

/** An entry found in a block, with its byte offset. */
export interface PlacedDirent extends Dirent {
  offset: number;
}

/** Bytes an entry with a name of `nameLen` bytes needs (EXT2_DIR_REC_LEN). */
export const direntSize = (nameLen: number): number => (DIRENT_HEADER + nameLen + 3) & ~3;

/** Decodes the entry at `off`; the name is cut short if it would run past the block. */
export function decodeDirent(b: Uint8Array, off: number): Dirent {
  const nameLen = b[off + 6];
  return {
    inode: le32(b, off),
    recLen: le16(b, off + 4),
    nameLen,
    fileType: b[off + 7],
    name: b.slice(off + DIRENT_HEADER, Math.min(b.length, off + DIRENT_HEADER + nameLen)),
  };
}

/** Writes an entry at `off` (header and name; the padding is left as it is). */
export function encodeDirent(d: Dirent, b: Uint8Array, off: number): void {
  setLe32(b, off, d.inode);
  setLe16(b, off + 4, d.recLen);
  b[off + 6] = d.nameLen;
  b[off + 7] = d.fileType;
  b.set(d.name.subarray(0, d.nameLen), off + DIRENT_HEADER);
}

export interface ParsedDirBlock {
  entries: PlacedDirent[];
  /** What is wrong with the chain, if anything (the entries before the fault are kept). */
  problems: string[];
}

/** Walks the rec_len chain of one directory block. */
export function parseDirBlock(b: Uint8Array): ParsedDirBlock {
  const entries: PlacedDirent[] = [];
  const problems: string[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + DIRENT_HEADER > b.length) {
      problems.push(`entry at offset ${off} runs past the end of the block`);
      break;
    }
    const d = decodeDirent(b, off);
    if (d.recLen < DIRENT_HEADER || d.recLen % 4 !== 0) {
      problems.push(`entry at offset ${off} has bad rec_len ${d.recLen}`);
      break;
    }
    if (off + d.recLen > b.length) {
      problems.push(`entry at offset ${off} has rec_len ${d.recLen} past the end of the block`);
      break;
    }
    if (d.inode !== 0 && direntSize(d.nameLen) > d.recLen) {
      problems.push(`entry at offset ${off} has name_len ${d.nameLen} too long for rec_len ${d.recLen}`);
      break;
    }
    entries.push({ ...d, offset: off });
    off += d.recLen;
  }
  return { entries, problems };
}

/** A block of a new directory: "." → self, ".." → parent, the rest of the block in "..". */
export function newDirBlock(blockSize: number, self: number, parent: number, ftDir: number): Uint8Array {
  const b = new Uint8Array(blockSize);
  encodeDirent({ inode: self, recLen: 12, nameLen: 1, fileType: ftDir, name: Uint8Array.of(0x2e) }, b, 0);
  encodeDirent(
    { inode: parent, recLen: blockSize - 12, nameLen: 2, fileType: ftDir, name: Uint8Array.of(0x2e, 0x2e) },
    b,
    12,
  );
  return b;
}

/** An empty directory block: one unused entry spanning it. */
export function emptyDirBlock(blockSize: number): Uint8Array {
  const b = new Uint8Array(blockSize);
  encodeDirent({ inode: 0, recLen: blockSize, nameLen: 0, fileType: 0, name: new Uint8Array(0) }, b, 0);
  return b;
}

/** Whether a name is one a directory entry may carry: 1..255 bytes, no '/' and no NUL. */
export function validName(name: Uint8Array): boolean {
  if (name.length === 0 || name.length > 255) return false;
  for (const c of name) if (c === 0x2f || c === 0) return false;
  return true;
}

export const isDot = (n: Uint8Array): boolean => n.length === 1 && n[0] === 0x2e;
export const isDotDot = (n: Uint8Array): boolean => n.length === 2 && n[0] === 0x2e && n[1] === 0x2e;
