/**
 * The JBD2 journal's on-disk blocks (linux/include/linux/jbd2.h; LAYOUT.md), big-endian, without
 * the 64bit and checksum features: the journal superblock (v2), descriptor blocks whose 8-byte
 * tags name the home block of each logged copy that follows, revoke blocks, and commit blocks.
 * Every block starts with journal_header_t: magic, block type, transaction sequence.
 */
import { be16, be32, be64, setBe16, setBe32, setBe64 } from './bytes.js';

export const JBD2_MAGIC = 0xc03b3998;
export const JBD2_DESCRIPTOR_BLOCK = 1;
export const JBD2_COMMIT_BLOCK = 2;
export const JBD2_SUPERBLOCK_V1 = 3;
export const JBD2_SUPERBLOCK_V2 = 4;
export const JBD2_REVOKE_BLOCK = 5;
/** s_feature_incompat: the journal may contain revoke blocks. */
export const JBD2_FEATURE_INCOMPAT_REVOKE = 0x1;
export const JBD2_KNOWN_INCOMPAT = JBD2_FEATURE_INCOMPAT_REVOKE;

/** Tag flags. */
export const JBD2_FLAG_ESCAPE = 1; // the logged copy began with JBD2_MAGIC, which was zeroed
export const JBD2_FLAG_SAME_UUID = 2; // no 16-byte UUID follows this tag
export const JBD2_FLAG_DELETED = 4;
export const JBD2_FLAG_LAST_TAG = 8;

export const JOURNAL_HEADER_SIZE = 12;
export const TAG_SIZE = 8;
export const UUID_SIZE = 16;
const REVOKE_HEADER_SIZE = 16;

export interface JournalHeader {
  magic: number;
  blockType: number;
  sequence: number;
}

export const decodeHeader = (b: Uint8Array): JournalHeader => ({
  magic: be32(b, 0),
  blockType: be32(b, 4),
  sequence: be32(b, 8),
});
export function encodeHeader(h: JournalHeader, b: Uint8Array): void {
  setBe32(b, 0, h.magic);
  setBe32(b, 4, h.blockType);
  setBe32(b, 8, h.sequence);
}

export interface JournalSuperblock {
  header: JournalHeader;
  blockSize: number;
  /** Total blocks in the journal, the superblock included. */
  maxLen: number;
  /** First block of the log (1). */
  first: number;
  /** Transaction id expected first in the log. */
  sequence: number;
  /** Log block where the log starts; 0 means the journal is empty (nothing to replay). */
  start: number;
  errno: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: Uint8Array;
  nrUsers: number;
  maxTransaction: number;
  maxTransData: number;
}

export function decodeJournalSuperblock(b: Uint8Array): JournalSuperblock {
  return {
    header: decodeHeader(b),
    blockSize: be32(b, 0x0c),
    maxLen: be32(b, 0x10),
    first: be32(b, 0x14),
    sequence: be32(b, 0x18),
    start: be32(b, 0x1c),
    errno: be32(b, 0x20) | 0,
    featureCompat: be32(b, 0x24),
    featureIncompat: be32(b, 0x28),
    featureRoCompat: be32(b, 0x2c),
    uuid: b.slice(0x30, 0x40),
    nrUsers: be32(b, 0x40),
    maxTransaction: be32(b, 0x48),
    maxTransData: be32(b, 0x4c),
  };
}

export function encodeJournalSuperblock(s: JournalSuperblock, b: Uint8Array): void {
  encodeHeader(s.header, b);
  setBe32(b, 0x0c, s.blockSize);
  setBe32(b, 0x10, s.maxLen);
  setBe32(b, 0x14, s.first);
  setBe32(b, 0x18, s.sequence);
  setBe32(b, 0x1c, s.start);
  setBe32(b, 0x20, s.errno >>> 0);
  setBe32(b, 0x24, s.featureCompat);
  setBe32(b, 0x28, s.featureIncompat);
  setBe32(b, 0x2c, s.featureRoCompat);
  b.set(s.uuid.subarray(0, 16), 0x30);
  setBe32(b, 0x40, s.nrUsers);
  setBe32(b, 0x48, s.maxTransaction);
  setBe32(b, 0x4c, s.maxTransData);
}

/** Why a journal superblock is unusable (e2fsck's and jbd2's checks); empty when fine. */
export function checkJournalSuperblock(s: JournalSuperblock, blockSize: number, blocks: number): string[] {
  const p: string[] = [];
  if (s.header.magic !== JBD2_MAGIC) return [`journal superblock has bad magic 0x${s.header.magic.toString(16)}`];
  if (s.header.blockType !== JBD2_SUPERBLOCK_V2) p.push(`journal superblock has unsupported type ${s.header.blockType}`);
  if (s.blockSize !== blockSize) p.push(`journal block size ${s.blockSize} differs from the file system's ${blockSize}`);
  if (s.maxLen > blocks || s.maxLen < 4) p.push(`journal length ${s.maxLen} does not match its inode (${blocks} blocks)`);
  if (s.first === 0 || s.first >= s.maxLen) p.push(`journal first log block ${s.first} is out of range`);
  if (s.start !== 0 && (s.start < s.first || s.start >= s.maxLen)) p.push(`journal log start ${s.start} is out of range`);
  if ((s.featureIncompat & ~JBD2_KNOWN_INCOMPAT) !== 0)
    p.push(`journal has unsupported incompatible features 0x${s.featureIncompat.toString(16)}`);
  return p;
}

export interface JournalTag {
  blockNr: number;
  flags: number;
}

/** How many tags one descriptor block holds (the first carries the UUID; 16 bytes stay spare). */
export const tagsPerDescriptor = (blockSize: number): number =>
  1 + Math.floor((blockSize - JOURNAL_HEADER_SIZE - TAG_SIZE - UUID_SIZE - UUID_SIZE) / TAG_SIZE);

/** A descriptor block for `tags` (at most tagsPerDescriptor); sets SAME_UUID and LAST_TAG. */
export function encodeDescriptor(seq: number, tags: JournalTag[], uuid: Uint8Array, blockSize: number): Uint8Array {
  const b = new Uint8Array(blockSize);
  encodeHeader({ magic: JBD2_MAGIC, blockType: JBD2_DESCRIPTOR_BLOCK, sequence: seq }, b);
  let off = JOURNAL_HEADER_SIZE;
  tags.forEach((t, i) => {
    let flags = t.flags & JBD2_FLAG_ESCAPE;
    if (i > 0) flags |= JBD2_FLAG_SAME_UUID;
    if (i === tags.length - 1) flags |= JBD2_FLAG_LAST_TAG;
    setBe32(b, off, t.blockNr);
    setBe16(b, off + 4, 0);
    setBe16(b, off + 6, flags);
    off += TAG_SIZE;
    if (i === 0) {
      b.set(uuid.subarray(0, 16), off);
      off += UUID_SIZE;
    }
  });
  return b;
}

/** The tags of a descriptor block, up to LAST_TAG or the end of the block. */
export function decodeDescriptorTags(b: Uint8Array): JournalTag[] {
  const tags: JournalTag[] = [];
  let off = JOURNAL_HEADER_SIZE;
  while (off + TAG_SIZE <= b.length) {
    const flags = be16(b, off + 6);
    tags.push({ blockNr: be32(b, off), flags });
    off += TAG_SIZE;
    if ((flags & JBD2_FLAG_SAME_UUID) === 0) off += UUID_SIZE;
    if ((flags & JBD2_FLAG_LAST_TAG) !== 0) break;
  }
  return tags;
}

export interface CommitBlock {
  header: JournalHeader;
  commitSec: number;
  commitNsec: number;
}

export function encodeCommit(seq: number, ns: number, blockSize: number): Uint8Array {
  const b = new Uint8Array(blockSize);
  encodeHeader({ magic: JBD2_MAGIC, blockType: JBD2_COMMIT_BLOCK, sequence: seq }, b);
  const sec = Math.floor(ns / 1e9);
  setBe64(b, 0x30, sec);
  setBe32(b, 0x38, ns - sec * 1e9);
  return b;
}

export const decodeCommit = (b: Uint8Array): CommitBlock => ({
  header: decodeHeader(b),
  commitSec: be64(b, 0x30),
  commitNsec: be32(b, 0x38),
});

/** Revoke records one revoke block holds. */
export const revokesPerBlock = (blockSize: number): number => Math.floor((blockSize - REVOKE_HEADER_SIZE) / 4);

export function encodeRevoke(seq: number, blocks: number[], blockSize: number): Uint8Array {
  const b = new Uint8Array(blockSize);
  encodeHeader({ magic: JBD2_MAGIC, blockType: JBD2_REVOKE_BLOCK, sequence: seq }, b);
  setBe32(b, 0x0c, REVOKE_HEADER_SIZE + 4 * blocks.length);
  blocks.forEach((n, i) => setBe32(b, REVOKE_HEADER_SIZE + 4 * i, n));
  return b;
}

/** The revoked block numbers (r_count is clamped to the block). */
export function decodeRevoke(b: Uint8Array): number[] {
  const count = Math.min(be32(b, 0x0c), b.length);
  const out: number[] = [];
  for (let off = REVOKE_HEADER_SIZE; off + 4 <= count; off += 4) out.push(be32(b, off));
  return out;
}

/** Log blocks a transaction of `n` logged blocks and `r` revokes takes (descriptors, copies, revokes, commit). */
export function transactionLogBlocks(n: number, r: number, blockSize: number): number {
  return Math.ceil(n / tagsPerDescriptor(blockSize)) + n + Math.ceil(r / revokesPerBlock(blockSize)) + 1;
}
