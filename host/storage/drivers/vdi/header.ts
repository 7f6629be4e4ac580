/**
 * The VDI header (VirtualBox Disk Image, version 1.1), as QEMU's block/vdi.c reads and
 * writes it. All fields little-endian; the header is one 512-byte sector:
 *
 *   0x000  text[64]          free text; QEMU writes "<<< QEMU VM Virtual Disk Image >>>\n"
 *   0x040  u32 signature     0xbeda107f
 *   0x044  u32 version       0x00010001 (1.1), the only one QEMU supports
 *   0x048  u32 header_size   0x180 in images QEMU creates
 *   0x04c  u32 image_type    1 dynamic, 2 static (preallocated)
 *   0x050  u32 image_flags
 *   0x054  description[256]
 *   0x154  u32 offset_bmap   byte offset of the block map (QEMU: 0x200)
 *   0x158  u32 offset_data   byte offset of data block 0
 *   0x15c  u32 cylinders, heads, sectors (legacy geometry, unused), sector_size (512), unused1
 *   0x170  u64 disk_size     virtual size in bytes
 *   0x178  u32 block_size    1 MiB; u32 block_extra; u32 blocks_in_image; u32 blocks_allocated
 *   0x188  uuid image, last_snap, link, parent (16 bytes each; link and parent must be null)
 *   0x1c8  u64 unused2[7]
 *
 * The block map that follows holds one u32 per block: VDI_UNALLOCATED, VDI_DISCARDED, or
 * the index of the data block at offset_data + index × block_size.
 */

export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_VERSION_1_1 = 0x00010001;
export const VDI_TYPE_DYNAMIC = 1;
export const VDI_TYPE_STATIC = 2;
export const VDI_TEXT = '<<< QEMU VM Virtual Disk Image >>>\n';
/** A block never written: reads as zeroes. */
export const VDI_UNALLOCATED = 0xffffffff;
/** A block given back: reads as zeroes. */
export const VDI_DISCARDED = 0xfffffffe;
export const VDI_HEADER_SIZE = 512;
/** header_size as QEMU writes it. */
export const VDI_HEADER_SIZE_FIELD = 0x180;
export const SECTOR_SIZE = 512;
/** The only block size QEMU accepts (DEFAULT_CLUSTER_SIZE). */
export const VDI_BLOCK_SIZE = 1 << 20;
/** QEMU's VDI_BLOCKS_IN_IMAGE_MAX: the block map must stay addressable by 32-bit offsets. */
export const VDI_BLOCKS_IN_IMAGE_MAX = 0x3fffffff;
export const VDI_DISK_SIZE_MAX = BigInt(VDI_BLOCKS_IN_IMAGE_MAX) * BigInt(VDI_BLOCK_SIZE);

/** True for a block-map entry that names a data block. */
export const vdiIsAllocated = (entry: number): boolean => entry < VDI_DISCARDED;

export interface VdiHeader {
  readonly text: Uint8Array;
  readonly signature: number;
  readonly version: number;
  readonly headerSize: number;
  readonly imageType: number;
  readonly imageFlags: number;
  readonly description: Uint8Array;
  readonly offsetBmap: number;
  readonly offsetData: number;
  readonly cylinders: number;
  readonly heads: number;
  readonly sectors: number;
  readonly sectorSize: number;
  readonly unused1: number;
  /** u64: kept exact, an image may claim any size. */
  readonly diskSize: bigint;
  readonly blockSize: number;
  readonly blockExtra: number;
  readonly blocksInImage: number;
  readonly blocksAllocated: number;
  readonly uuidImage: Uint8Array;
  readonly uuidLastSnap: Uint8Array;
  readonly uuidLink: Uint8Array;
  readonly uuidParent: Uint8Array;
  readonly unused2: Uint8Array;
}

const u32 = (dv: DataView, off: number): number => dv.getUint32(off, true);
const bytes = (b: Uint8Array, off: number, len: number): Uint8Array => b.slice(off, off + len);

/** Decode the first sector of an image. Total: any 512 bytes decode (validation is separate). */
export function decodeVdiHeader(b: Uint8Array): VdiHeader {
  const sector = new Uint8Array(VDI_HEADER_SIZE);
  sector.set(b.subarray(0, VDI_HEADER_SIZE));
  const dv = new DataView(sector.buffer);
  return {
    text: bytes(sector, 0, 0x40),
    signature: u32(dv, 0x40),
    version: u32(dv, 0x44),
    headerSize: u32(dv, 0x48),
    imageType: u32(dv, 0x4c),
    imageFlags: u32(dv, 0x50),
    description: bytes(sector, 0x54, 256),
    offsetBmap: u32(dv, 0x154),
    offsetData: u32(dv, 0x158),
    cylinders: u32(dv, 0x15c),
    heads: u32(dv, 0x160),
    sectors: u32(dv, 0x164),
    sectorSize: u32(dv, 0x168),
    unused1: u32(dv, 0x16c),
    diskSize: dv.getBigUint64(0x170, true),
    blockSize: u32(dv, 0x178),
    blockExtra: u32(dv, 0x17c),
    blocksInImage: u32(dv, 0x180),
    blocksAllocated: u32(dv, 0x184),
    uuidImage: bytes(sector, 0x188, 16),
    uuidLastSnap: bytes(sector, 0x198, 16),
    uuidLink: bytes(sector, 0x1a8, 16),
    uuidParent: bytes(sector, 0x1b8, 16),
    unused2: bytes(sector, 0x1c8, 56),
  };
}

/** The 512 bytes of `h`. */
export function encodeVdiHeader(h: VdiHeader): Uint8Array {
  const b = new Uint8Array(VDI_HEADER_SIZE);
  const dv = new DataView(b.buffer);
  const put32 = (off: number, v: number) => dv.setUint32(off, v >>> 0, true);
  b.set(h.text.subarray(0, 0x40), 0);
  put32(0x40, h.signature);
  put32(0x44, h.version);
  put32(0x48, h.headerSize);
  put32(0x4c, h.imageType);
  put32(0x50, h.imageFlags);
  b.set(h.description.subarray(0, 256), 0x54);
  put32(0x154, h.offsetBmap);
  put32(0x158, h.offsetData);
  put32(0x15c, h.cylinders);
  put32(0x160, h.heads);
  put32(0x164, h.sectors);
  put32(0x168, h.sectorSize);
  put32(0x16c, h.unused1);
  dv.setBigUint64(0x170, BigInt.asUintN(64, h.diskSize), true);
  put32(0x178, h.blockSize);
  put32(0x17c, h.blockExtra);
  put32(0x180, h.blocksInImage);
  put32(0x184, h.blocksAllocated);
  b.set(h.uuidImage.subarray(0, 16), 0x188);
  b.set(h.uuidLastSnap.subarray(0, 16), 0x198);
  b.set(h.uuidLink.subarray(0, 16), 0x1a8);
  b.set(h.uuidParent.subarray(0, 16), 0x1b8);
  b.set(h.unused2.subarray(0, 56), 0x1c8);
  return b;
}

const hex = (n: number | bigint): string => n.toString(16);
const isNullUuid = (u: Uint8Array): boolean => u.every((x) => x === 0);

/**
 * vdi_open's checks, in its order and words. Returns the problem, or null for a header
 * QEMU would open. (The disk size is rounded up to a sector before the later checks, as
 * 'VBoxManage convertfromraw' writes odd sizes.)
 */
export function vdiHeaderProblem(h: VdiHeader): string | null {
  if (h.diskSize > VDI_DISK_SIZE_MAX) return `Unsupported VDI image size (size is 0x${hex(h.diskSize)}, max supported is 0x${hex(VDI_DISK_SIZE_MAX)})`;
  const diskSize = vdiDiskSize(h);
  if (h.signature !== VDI_SIGNATURE) return `Image not in VDI format (bad signature ${hex(h.signature).padStart(8, '0')})`;
  if (h.version !== VDI_VERSION_1_1) return `unsupported VDI image (version ${h.version >>> 16}.${h.version & 0xffff})`;
  if (h.offsetBmap % SECTOR_SIZE !== 0) return `unsupported VDI image (unaligned block map offset 0x${hex(h.offsetBmap)})`;
  if (h.offsetData % SECTOR_SIZE !== 0) return `unsupported VDI image (unaligned data offset 0x${hex(h.offsetData)})`;
  if (h.sectorSize !== SECTOR_SIZE) return `unsupported VDI image (sector size ${h.sectorSize} is not ${SECTOR_SIZE})`;
  if (h.blockSize !== VDI_BLOCK_SIZE) return `unsupported VDI image (block size ${h.blockSize} is not ${VDI_BLOCK_SIZE})`;
  const room = h.blocksInImage * h.blockSize;
  if (diskSize > room) return `unsupported VDI image (disk size ${diskSize}, image bitmap has room for ${room})`;
  if (!isNullUuid(h.uuidLink)) return 'unsupported VDI image (non-NULL link UUID)';
  if (!isNullUuid(h.uuidParent)) return 'unsupported VDI image (non-NULL parent UUID)';
  if (h.blocksInImage > VDI_BLOCKS_IN_IMAGE_MAX) return `unsupported VDI image (too many blocks ${h.blocksInImage}, max is ${VDI_BLOCKS_IN_IMAGE_MAX})`;
  return null;
}

/** The guest-visible size: disk_size rounded up to a sector (a safe integer once the header passed vdiHeaderProblem). */
export function vdiDiskSize(h: VdiHeader): number {
  const s = BigInt(SECTOR_SIZE);
  return Number(((h.diskSize + s - 1n) / s) * s);
}

/** The header qemu-img create writes for a disk of `size` bytes (already a multiple of 512). */
export function newVdiHeader(size: number, isStatic: boolean, uuidImage: Uint8Array, uuidLastSnap: Uint8Array): VdiHeader {
  const blocks = Math.ceil(size / VDI_BLOCK_SIZE);
  const bmapBytes = Math.ceil((blocks * 4) / SECTOR_SIZE) * SECTOR_SIZE;
  const text = new Uint8Array(0x40);
  text.set(new TextEncoder().encode(VDI_TEXT));
  return {
    text,
    signature: VDI_SIGNATURE,
    version: VDI_VERSION_1_1,
    headerSize: VDI_HEADER_SIZE_FIELD,
    imageType: isStatic ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC,
    imageFlags: 0,
    description: new Uint8Array(256),
    offsetBmap: 0x200,
    offsetData: 0x200 + bmapBytes,
    cylinders: 0,
    heads: 0,
    sectors: 0,
    sectorSize: SECTOR_SIZE,
    unused1: 0,
    diskSize: BigInt(size),
    blockSize: VDI_BLOCK_SIZE,
    blockExtra: 0,
    blocksInImage: blocks,
    blocksAllocated: isStatic ? blocks : 0,
    uuidImage,
    uuidLastSnap,
    uuidLink: new Uint8Array(16),
    uuidParent: new Uint8Array(16),
    unused2: new Uint8Array(56),
  };
}
