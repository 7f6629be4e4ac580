/**
 * Byte-layout round trips for every on-disk structure (fast-check): value → bytes → value, and
 * bytes → value → bytes over arbitrary bytes (the decoders are total), plus a few pinned offsets
 * from the ext2 and JBD2 headers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { le16, le32 } from './bytes.js';
import { decodeDirent, direntSize, encodeDirent, newDirBlock, parseDirBlock } from './dirent.js';
import { decodeGroupDesc, encodeGroupDesc, type GroupDesc } from './group-desc.js';
import { decodeBlockMap, decodeInode, encodeBlockMap, encodeBlockMapChanges, encodeInode, inodeLinksCount, inodeMode, nsToTime, timeToNs, type Inode, type InodeBlockMap } from './inode.js';
import {
  decodeCommit,
  decodeDescriptorTags,
  decodeJournalSuperblock,
  decodeRevoke,
  encodeCommit,
  encodeDescriptor,
  encodeJournalSuperblock,
  encodeRevoke,
  JBD2_FLAG_ESCAPE,
  JBD2_FLAG_LAST_TAG,
  JBD2_FLAG_SAME_UUID,
  tagsPerDescriptor,
  type JournalSuperblock,
} from './journal-format.js';
import { decodeSuperblock, encodeSuperblock, type Superblock } from './superblock.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const blockSize = fc.constantFrom(1024, 2048, 4096);

const superblockArb: fc.Arbitrary<Superblock> = fc.record({
  inodesCount: u32, blocksCount: u32, rBlocksCount: u32, freeBlocksCount: u32, freeInodesCount: u32,
  firstDataBlock: u32, logBlockSize: u32, logClusterSize: u32, blocksPerGroup: u32, clustersPerGroup: u32,
  inodesPerGroup: u32, mtime: u32, wtime: u32, mntCount: u16, maxMntCount: u16, magic: u16, state: u16,
  errors: u16, minorRevLevel: u16, lastcheck: u32, checkinterval: u32, creatorOs: u32, revLevel: u32,
  defResuid: u16, defResgid: u16, firstIno: u32, inodeSize: u16, blockGroupNr: u16, featureCompat: u32,
  featureIncompat: u32, featureRoCompat: u32, uuid: bytes(16), volumeName: bytes(16), journalInum: u32,
  lastOrphan: u32, defHashVersion: u8, jnlBackupType: u8, descSize: u16, mkfsTime: u32,
  jnlBlocks: fc.array(u32, { minLength: 17, maxLength: 17 }), minExtraIsize: u16, wantExtraIsize: u16,
});

const inodeArb = (inodeSize: number): fc.Arbitrary<Inode> =>
  fc.record({
    mode: u16, uid: u16, size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), atime: u32, ctime: u32,
    mtime: u32, dtime: u32, gid: u16, linksCount: u16, blocks: fc.integer({ min: 0, max: 2 ** 48 - 1 }), flags: u32,
    osd1: u32, block: fc.array(u32, { minLength: 15, maxLength: 15 }), generation: u32, fileAcl: u32, faddr: u32,
    uidHigh: u16, gidHigh: u16, extraIsize: fc.constant(inodeSize > 128 ? 32 : 0),
    ctimeExtra: inodeSize > 128 ? u32 : fc.constant(0), mtimeExtra: inodeSize > 128 ? u32 : fc.constant(0),
    atimeExtra: inodeSize > 128 ? u32 : fc.constant(0), crtime: inodeSize > 128 ? u32 : fc.constant(0),
    crtimeExtra: inodeSize > 128 ? u32 : fc.constant(0),
  });

describe('superblock', () => {
  it('round-trips a value', () =>
    fc.assert(fc.property(superblockArb, (sb) => {
      const b = new Uint8Array(2048);
      encodeSuperblock(sb, b);
      expect(decodeSuperblock(b)).toEqual(sb);
    })));
  it('round-trips arbitrary bytes (decoding is total, unknown fields untouched)', () =>
    fc.assert(fc.property(bytes(1024), (raw) => {
      const b = new Uint8Array(2048);
      b.set(raw, 1024);
      const again = b.slice();
      encodeSuperblock(decodeSuperblock(b), again);
      expect(again).toEqual(b);
    })));
  it('puts the ext2 fields at their offsets', () => {
    const b = new Uint8Array(2048);
    fc.assert(fc.property(superblockArb, (sb) => {
      encodeSuperblock(sb, b);
      expect(le16(b, 1024 + 0x38)).toBe(sb.magic);
      expect(le32(b, 1024 + 0x04)).toBe(sb.blocksCount);
      expect(le32(b, 1024 + 0xe0)).toBe(sb.journalInum);
      expect(le32(b, 1024 + 0x10c + 16 * 4)).toBe(sb.jnlBlocks[16]);
    }));
  });
});

describe('group descriptor', () => {
  const gd: fc.Arbitrary<GroupDesc> = fc.record({
    blockBitmap: u32, inodeBitmap: u32, inodeTable: u32, freeBlocksCount: u16, freeInodesCount: u16,
    usedDirsCount: u16, flags: u16, itableUnused: u16, checksum: u16,
  });
  it('round-trips a value', () =>
    fc.assert(fc.property(gd, fc.nat({ max: 31 }), (d, slot) => {
      const b = new Uint8Array(1024);
      encodeGroupDesc(d, b, slot * 32);
      expect(decodeGroupDesc(b, slot * 32)).toEqual(d);
    })));
  it('round-trips arbitrary bytes in the fields it knows', () =>
    fc.assert(fc.property(bytes(32), (raw) => {
      const b = raw.slice();
      encodeGroupDesc(decodeGroupDesc(raw, 0), b, 0);
      expect(b).toEqual(raw);
    })));
});

describe('inode', () => {
  for (const isz of [128, 256])
    it(`round-trips a value (${isz}-byte inodes)`, () =>
      fc.assert(fc.property(inodeArb(isz), (i) => {
        const b = new Uint8Array(isz * 2);
        encodeInode(i, b, isz, isz);
        expect(decodeInode(b, isz, isz)).toEqual(i);
      })));
  it('round-trips arbitrary bytes (sizes below 2^53)', () =>
    fc.assert(fc.property(bytes(256), (raw) => {
      raw[0x6c + 3] = 0; // i_size_high < 2^24: exact as a number
      raw[0x6c + 2] &= 0x1f;
      raw[0x80] = 32;
      raw[0x81] = 0;
      const b = raw.slice();
      encodeInode(decodeInode(raw, 0, 256), b, 0, 256);
      expect(b).toEqual(raw);
    })));
  it('reads and writes the block map as decodeInode and encodeInode do, and nothing else', () =>
    fc.assert(fc.property(bytes(256), fc.array(fc.nat(0xffffffff), { minLength: 15, maxLength: 15 }), fc.nat(2 ** 40), (raw, ptrs, sectors) => {
      raw[0x6c + 3] = 0; // i_size exact as a number, so that encodeInode rewrites it unchanged
      raw[0x6c + 2] &= 0x1f;
      raw[0x80] = 32;
      raw[0x81] = 0;
      const whole = decodeInode(raw, 0, 256);
      const m: InodeBlockMap = { block: [], blocks: 0 };
      decodeBlockMap(raw, 0, m);
      expect(m).toEqual({ block: whole.block, blocks: whole.blocks });
      expect([inodeMode(raw, 0), inodeLinksCount(raw, 0)]).toEqual([whole.mode, whole.linksCount]);
      const viaMap = raw.slice();
      encodeBlockMap({ block: ptrs, blocks: sectors }, viaMap, 0);
      const viaInode = raw.slice();
      encodeInode({ ...decodeInode(raw, 0, 256), block: ptrs, blocks: sectors }, viaInode, 0, 256);
      expect(viaMap).toEqual(viaInode);
    })));
  it('writes back only the changed fields of a block map, to the bytes encodeBlockMap gives', () =>
    fc.assert(fc.property(bytes(256), fc.array(fc.option(fc.nat(0xffffffff)), { minLength: 15, maxLength: 15 }), fc.option(fc.nat(2 ** 40)), (raw, ptrs, sectors) => {
      const now: InodeBlockMap = { block: [], blocks: 0 };
      decodeBlockMap(raw, 0, now);
      // Each field either kept (None) or set to a random value (which may equal the old one).
      const m: InodeBlockMap = { block: ptrs.map((p, i) => p ?? now.block[i]), blocks: sectors ?? now.blocks };
      const whole = raw.slice();
      encodeBlockMap(m, whole, 0);
      const changes = raw.slice();
      const touched = new Uint8Array(256);
      const fields = encodeBlockMapChanges(m, changes, 0, (at, len) => {
        touched.fill(1, at, at + len);
        return changes;
      });
      expect(changes).toEqual(whole);
      for (let i = 0; i < 256; i++) if (raw[i] !== whole[i]) expect(touched[i]).toBe(1);
      const ranges = [[0x1c, 4], [0x74, 2], ...Array.from({ length: 15 }, (_, i) => [0x28 + 4 * i, 4])];
      const differing = ranges.filter(([at, len]) => raw.subarray(at, at + len).some((b, j) => b !== whole[at + j])).length;
      expect(fields).toBe(differing);
      for (let i = 0; i < 256; i++) if (!ranges.some(([at, len]) => i >= at && i < at + len)) expect(touched[i]).toBe(0);
    })));
  it('stores virtual nanoseconds as seconds and extra', () =>
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ns) => {
      const [sec, extra] = nsToTime(ns);
      expect(timeToNs(sec, extra)).toBe(ns);
    })));
});

describe('directory entries', () => {
  const name = fc.uint8Array({ minLength: 1, maxLength: 255 }).filter((n) => !n.includes(0x2f) && !n.includes(0));
  it('round-trip, and a block of them parses back in order', () =>
    fc.assert(fc.property(blockSize, fc.array(fc.tuple(u32.filter((x) => x > 0), name, fc.nat({ max: 7 })), { maxLength: 12 }), (bs, es) => {
      const b = new Uint8Array(bs);
      let off = 0;
      const placed = es.filter((_, i) => es.slice(0, i + 1).reduce((s, [, n]) => s + direntSize(n.length), 0) <= bs);
      placed.forEach(([inode, n, ft], i) => {
        const recLen = i === placed.length - 1 ? bs - off : direntSize(n.length);
        encodeDirent({ inode, recLen, nameLen: n.length, fileType: ft, name: n }, b, off);
        expect(decodeDirent(b, off)).toEqual({ inode, recLen, nameLen: n.length, fileType: ft, name: n });
        off += recLen;
      });
      const parsed = parseDirBlock(b);
      if (placed.length > 0) {
        expect(parsed.problems).toEqual([]);
        expect(parsed.entries.map((e) => e.inode)).toEqual(placed.map(([i]) => i));
      }
    })));
  it('parses any bytes without throwing, stopping at a broken chain', () =>
    fc.assert(fc.property(blockSize.chain((bs) => bytes(bs)), (raw) => {
      const p = parseDirBlock(raw);
      const end = p.entries.reduce((s, e) => s + e.recLen, 0);
      expect(end === raw.length || p.problems.length > 0).toBe(true);
    })));
  it('lays out "." and ".." as ext2 does', () => {
    const b = newDirBlock(1024, 12, 2, 2);
    expect(parseDirBlock(b).entries.map((e) => [e.inode, e.recLen, e.nameLen, e.fileType])).toEqual([
      [12, 12, 1, 2],
      [2, 1012, 2, 2],
    ]);
  });
});

describe('JBD2 blocks', () => {
  const jsbArb: fc.Arbitrary<JournalSuperblock> = fc.record({
    header: fc.record({ magic: u32, blockType: u32, sequence: u32 }),
    blockSize: u32, maxLen: u32, first: u32, sequence: u32, start: u32, errno: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    featureCompat: u32, featureIncompat: u32, featureRoCompat: u32, uuid: bytes(16), nrUsers: u32,
    maxTransaction: u32, maxTransData: u32,
  });
  it('journal superblock round-trips', () =>
    fc.assert(fc.property(jsbArb, (s) => {
      const b = new Uint8Array(1024);
      encodeJournalSuperblock(s, b);
      expect(decodeJournalSuperblock(b)).toEqual(s);
      expect(b[0]).toBe(s.header.magic >>> 24); // big-endian
    })));
  it('descriptor tags round-trip with SAME_UUID and LAST_TAG set as JBD2 does', () =>
    fc.assert(fc.property(blockSize, bytes(16), fc.array(fc.tuple(u32, fc.boolean()), { minLength: 1, maxLength: 500 }), (bs, uuid, ts) => {
      const tags = ts.slice(0, tagsPerDescriptor(bs)).map(([blockNr, esc]) => ({ blockNr, flags: esc ? JBD2_FLAG_ESCAPE : 0 }));
      const got = decodeDescriptorTags(encodeDescriptor(7, tags, uuid, bs));
      expect(got.map((t) => t.blockNr)).toEqual(tags.map((t) => t.blockNr));
      got.forEach((t, i) => {
        expect(t.flags & JBD2_FLAG_ESCAPE).toBe(tags[i].flags);
        expect((t.flags & JBD2_FLAG_SAME_UUID) !== 0).toBe(i > 0);
        expect((t.flags & JBD2_FLAG_LAST_TAG) !== 0).toBe(i === tags.length - 1);
      });
    })));
  it('revoke and commit blocks round-trip', () =>
    fc.assert(fc.property(blockSize, u32, fc.array(u32, { maxLength: 200 }), fc.integer({ min: 0, max: 2 ** 52 }), (bs, seq, blocks, ns) => {
      expect(decodeRevoke(encodeRevoke(seq, blocks, bs))).toEqual(blocks);
      const c = decodeCommit(encodeCommit(seq, ns, bs));
      expect(c.header.sequence).toBe(seq);
      expect(c.commitSec * 1e9 + c.commitNsec).toBe(ns);
    })));
  it('decode any bytes without throwing', () =>
    fc.assert(fc.property(blockSize.chain((bs) => bytes(bs)), (raw) => {
      decodeJournalSuperblock(raw);
      decodeDescriptorTags(raw);
      expect(decodeRevoke(raw).length).toBeLessThanOrEqual(raw.length / 4);
      decodeCommit(raw);
    })));
});
