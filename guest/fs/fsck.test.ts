/**
 * fsck: a fresh file system is clean at every block size; each kind of damage is found and
 * named; fsck never throws, whatever the bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clearBit, setBit } from './bitmap.js';
import { le32, setLe16, setLe32 } from './bytes.js';
import { parseDirBlock, encodeDirent } from './dirent.js';
import { fsck, fsckImage, type FsckCode } from './fsck.js';
import { geometryOf, groupOfBlock, groupFirstBlock, type Geometry } from './geometry.js';
import { decodeGroupDesc } from './group-desc.js';
import { decodeInode, encodeInode, type Inode } from './inode.js';
import { mkfsImage } from './mkfs.js';
import { mountImage } from './mount.js';
import { decodeSuperblock } from './superblock.js';
import { applyPlan, memoryBlockIo, unwrap } from './testing.js';

interface Img {
  image: Uint8Array;
  geo: Geometry;
  bs: number;
}

function open(image: Uint8Array): Img {
  const geo = geometryOf(decodeSuperblock(image));
  return { image, geo, bs: geo.blockSize };
}
const gd = (m: Img, g: number) => decodeGroupDesc(m.image, (m.bs === 1024 ? 2 : 1) * m.bs + 32 * g);
function inodeOff(m: Img, ino: number): number {
  const g = Math.floor((ino - 1) / m.geo.inodesPerGroup);
  const idx = (ino - 1) % m.geo.inodesPerGroup;
  return gd(m, g).inodeTable * m.bs + idx * m.geo.inodeSize;
}
const getInode = (m: Img, ino: number): Inode => decodeInode(m.image, inodeOff(m, ino), m.geo.inodeSize);
const putInode = (m: Img, ino: number, i: Inode): void => encodeInode(i, m.image, inodeOff(m, ino), m.geo.inodeSize);
const block = (m: Img, b: number): Uint8Array => m.image.subarray(b * m.bs, (b + 1) * m.bs);

/** A populated, cleanly unmounted file system: /d (dir), /d/f (3 blocks), /g (1 block), /h → /g. */
function populated(bs = 1024): { m: Img; ino: Record<string, number> } {
  const image = new Uint8Array(2048 * bs);
  unwrap(mkfsImage(image, { sizeBlocks: 2048, blockSize: bs, journalBlocks: 256 }));
  const fs = unwrap(mountImage(image));
  unwrap(fs.mkdir('/d'));
  const f = unwrap(fs.create('/d/f'));
  for (let b = 0; b < 3; b++) unwrap(fs.bmap(f, b, true));
  unwrap(fs.setSize(f, 3 * bs));
  const g = unwrap(fs.create('/g'));
  unwrap(fs.bmap(g, 0, true));
  unwrap(fs.setSize(g, 100));
  unwrap(fs.link('/g', '/h'));
  const ino = { d: unwrap(fs.lookup('/d')), f, g };
  applyPlan(image, fs.umount(), bs);
  return { m: open(image), ino };
}

const codes = (image: Uint8Array): FsckCode[] => [...new Set(fsckImage(image).findings.map((f) => f.code))].sort();

describe('fsck', () => {
  for (const bs of [1024, 2048, 4096])
    for (const blocks of [300, 9000, 40000])
      it(`finds a fresh file system clean (${blocks} blocks of ${bs})`, () => {
        const image = new Uint8Array(blocks * bs);
        unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: bs, inodeSize: blocks === 9000 ? 128 : 256 }));
        expect(fsckImage(image)).toEqual({ findings: [], replayedTransactions: 0 });
      });

  it('runs over an FsBlockIo too', () => {
    const { m } = populated();
    let report: unknown;
    fsck(memoryBlockIo(m.image)).subscribe((r) => (report = r));
    expect(report).toEqual({ findings: [], replayedTransactions: 0 });
  });

  const damage: [string, FsckCode[], (m: Img, ino: Record<string, number>) => void][] = [
    ['bad superblock magic', ['SUPERBLOCK'], (m) => setLe16(m.image, 1024 + 0x38, 0x1234)],
    ['a descriptor pointing outside its group', ['GROUP_DESC'], (m) => setLe32(m.image, 2 * m.bs + 0, 999999)],
    ['a used block marked free', ['BLOCK_BITMAP'], (m, ino) => {
      const b = getInode(m, ino.f).block[1];
      clearBit(block(m, gd(m, groupOfBlock(m.geo, b)).blockBitmap), b - groupFirstBlock(m.geo, 0));
    }],
    ['a free block marked used', ['BLOCK_BITMAP'], (m) => setBit(block(m, gd(m, 0).blockBitmap), 1900)],
    ['a wrong link count', ['LINK_COUNT'], (m, ino) => putInode(m, ino.g, { ...getInode(m, ino.g), linksCount: 3 })],
    ['a block claimed twice', ['DUP_BLOCK'], (m, ino) => {
      const g = getInode(m, ino.g);
      const f = getInode(m, ino.f);
      g.block[1] = f.block[0];
      g.size = 2 * m.bs;
      putInode(m, ino.g, g);
    }],
    ['a block past the end of the file', ['I_SIZE'], (m, ino) => putInode(m, ino.f, { ...getInode(m, ino.f), size: 10 })],
    ['a wrong i_blocks', ['I_BLOCKS'], (m, ino) => putInode(m, ino.f, { ...getInode(m, ino.f), blocks: 2 })],
    ['a pointer outside the file system', ['BAD_BLOCK', 'BLOCK_BITMAP', 'FREE_COUNT', 'I_BLOCKS'], (m, ino) => {
      const f = getInode(m, ino.f);
      f.block[2] = 123456;
      putInode(m, ino.f, f);
    }],
    ['a pointer into the inode table', ['BLOCK_BITMAP', 'BLOCK_IN_METADATA', 'FREE_COUNT', 'I_BLOCKS'], (m, ino) => {
      const f = getInode(m, ino.f);
      f.block[2] = gd(m, 0).inodeTable;
      putInode(m, ino.f, f);
    }],
    ['an entry naming a free inode', ['DIR_ENTRY', 'LINK_COUNT', 'ORPHAN'], (m, ino) => {
      const d = block(m, getInode(m, ino.d).block[0]);
      const e = parseDirBlock(d).entries[2];
      encodeDirent({ ...e, inode: 200 }, d, e.offset);
    }],
    ['a broken rec_len chain', ['DIR_ENTRY', 'LINK_COUNT', 'ORPHAN'], (m, ino) => setLe16(block(m, getInode(m, ino.d).block[0]), 12 + 4, 5)],
    ['a wrong ".."', ['DIR_DOT', 'DIR_FILETYPE', 'LINK_COUNT'], (m, ino) => setLe32(block(m, getInode(m, ino.d).block[0]), 12, ino.f)],
    ['a wrong file type', ['DIR_FILETYPE'], (m, ino) => {
      const d = block(m, getInode(m, ino.d).block[0]);
      d[parseDirBlock(d).entries[2].offset + 7] = 2;
    }],
    ['an orphan inode (in use, unreachable)', ['DIR_ENTRY', 'LINK_COUNT', 'ORPHAN'], (m, ino) => {
      const d = block(m, getInode(m, ino.d).block[0]);
      const e = parseDirBlock(d).entries[2];
      encodeDirent({ ...e, name: Uint8Array.of(0x2f) }, d, e.offset);
    }],
    ['an inode in use but free in the bitmap', ['BLOCK_BITMAP', 'DIR_ENTRY', 'FREE_COUNT', 'INODE_BITMAP'], (m, ino) => {
      clearBit(block(m, gd(m, 0).inodeBitmap), ino.g - 1);
    }],
    ['a wrong free count', ['FREE_COUNT'], (m) => setLe32(m.image, 1024 + 0x0c, le32(m.image, 1024 + 0x0c) + 1)],
    ['a wrong journal backup', ['JOURNAL_BACKUP'], (m) => setLe32(m.image, 1024 + 0x10c, 7)],
    ['a journal superblock with a bad magic', ['JOURNAL'], (m) => {
      setLe32(block(m, getInode(m, 8).block[0]), 0, 0);
    }],
  ];
  for (const [what, want, hurt] of damage)
    it(`finds ${what}`, () => {
      const { m, ino } = populated();
      expect(codes(m.image)).toEqual([]);
      hurt(m, ino);
      const report = fsckImage(m.image);
      expect(report.findings.length).toBeGreaterThan(0);
      for (const f of report.findings) expect(f.message.length).toBeGreaterThan(10);
      expect(codes(m.image)).toEqual(want);
    });

  it('never throws on damaged metadata', () => {
    const { m } = populated();
    const meta = Math.min(m.image.length / m.bs, 400);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: meta * m.bs - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 40 }), (hits) => {
        const copy = m.image.slice();
        for (const [off, v] of hits) copy[off] = v;
        const r = fsckImage(copy);
        expect(Array.isArray(r.findings)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
