/**
 * The block group descriptor (struct ext2_group_desc, 32 bytes; LAYOUT.md). The descriptor table
 * follows the superblock in group 0 (block 1 with 4 KiB blocks, block 2 with 1 KiB blocks), with
 * backups beside the backup superblocks.
 */
import { le16, le32, setLe16, setLe32 } from './bytes.js';
import { GROUP_DESC_SIZE } from './geometry.js';

/** Byte offsets of the fields read (or changed) without decoding the whole descriptor. */
export const GD_BLOCK_BITMAP = 0x00;
export const GD_INODE_BITMAP = 0x04;
export const GD_INODE_TABLE = 0x08;
export const GD_FREE_BLOCKS_COUNT = 0x0c;

export interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  usedDirsCount: number;
  flags: number;
  itableUnused: number;
  checksum: number;
}

export function decodeGroupDesc(b: Uint8Array, off: number): GroupDesc {
  return {
    blockBitmap: le32(b, off + GD_BLOCK_BITMAP),
    inodeBitmap: le32(b, off + GD_INODE_BITMAP),
    inodeTable: le32(b, off + GD_INODE_TABLE),
    freeBlocksCount: le16(b, off + GD_FREE_BLOCKS_COUNT),
    freeInodesCount: le16(b, off + 0x0e),
    usedDirsCount: le16(b, off + 0x10),
    flags: le16(b, off + 0x12),
    itableUnused: le16(b, off + 0x1c),
    checksum: le16(b, off + 0x1e),
  };
}

export function encodeGroupDesc(d: GroupDesc, b: Uint8Array, off: number): void {
  setLe32(b, off + GD_BLOCK_BITMAP, d.blockBitmap);
  setLe32(b, off + GD_INODE_BITMAP, d.inodeBitmap);
  setLe32(b, off + GD_INODE_TABLE, d.inodeTable);
  setLe16(b, off + GD_FREE_BLOCKS_COUNT, d.freeBlocksCount);
  setLe16(b, off + 0x0e, d.freeInodesCount);
  setLe16(b, off + 0x10, d.usedDirsCount);
  setLe16(b, off + 0x12, d.flags);
  setLe16(b, off + 0x1c, d.itableUnused);
  setLe16(b, off + 0x1e, d.checksum);
}

/** Where descriptor g is: [block index within the table, byte offset in that block]. */
export const groupDescLocation = (blockSize: number, g: number): [number, number] => [
  Math.floor((g * GROUP_DESC_SIZE) / blockSize),
  (g * GROUP_DESC_SIZE) % blockSize,
];
