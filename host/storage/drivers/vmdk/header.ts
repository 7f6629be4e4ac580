/**
 * The hosted sparse extent header (VMware's "Virtual Disk Format 1.1", QEMU's VMDK4Header
 * in block/vmdk.c). One 512-byte sector, little-endian, packed:
 *
 *   0   char magic[4]       "KDMV" (VMDK4_MAGIC, read big-endian as 'K'<<24|'D'<<16|'M'<<8|'V')
 *   4   u32 version         1; 2 with zeroed-grain GTEs; 3 compressed (streamOptimized)
 *   8   u32 flags           NL_DETECT 1<<0, RGD 1<<1, ZERO_GRAIN 1<<2, COMPRESS 1<<16, MARKER 1<<17
 *   12  u64 capacity        sectors
 *   20  u64 granularity     sectors per grain (QEMU: 128, 64 KiB)
 *   28  u64 desc_offset     sector of the embedded descriptor (QEMU: 1)
 *   36  u64 desc_size       sectors (QEMU: 20)
 *   44  u32 num_gtes_per_gt entries per grain table (QEMU: 512)
 *   48  u64 rgd_offset      sector of the redundant grain directory
 *   56  u64 gd_offset       sector of the grain directory; 0xffffffffffffffff: in the footer
 *   64  u64 grain_offset    first sector of grain data
 *   72  char filler         0
 *   73  char check_bytes[4] "\n \r\n" (detects text-mode transfers)
 *   77  u16 compressAlgorithm 1 = deflate
 *
 * Grain directory (GD) entries are u32 sectors of grain tables (GT); GT entries are u32
 * sectors of grains: 0 unallocated, 1 zeroed (with ZERO_GRAIN). A compressed grain starts
 * with a marker { u64 lba; u32 size } and `size` bytes of zlib data. Metadata markers
 * (streamOptimized) are { u64 val; u32 size = 0; u32 type } in a sector of their own.
 */

export const VMDK4_MAGIC = 0x4b444d56;
/** VMDK3 / "COWD" (ESX 2 sparse): probed, not opened by the model. */
export const VMDK3_MAGIC = 0x434f5744;
export const VMDK4_FLAG_NL_DETECT = 1 << 0;
export const VMDK4_FLAG_RGD = 1 << 1;
export const VMDK4_FLAG_ZERO_GRAIN = 1 << 2;
export const VMDK4_FLAG_COMPRESS = 1 << 16;
export const VMDK4_FLAG_MARKER = 1 << 17;
export const VMDK4_COMPRESSION_DEFLATE = 1;
export const VMDK4_GD_AT_END = 0xffffffffffffffffn;
export const VMDK_GTE_ZEROED = 1;
export const MARKER_END_OF_STREAM = 0;
export const MARKER_GRAIN_TABLE = 1;
export const MARKER_GRAIN_DIRECTORY = 2;
export const MARKER_FOOTER = 3;
export const SECTOR = 512;
/** Bytes of a grain marker before its data. */
export const GRAIN_MARKER_SIZE = 12;

export interface Vmdk4Header {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly capacity: bigint;
  readonly granularity: bigint;
  readonly descOffset: bigint;
  readonly descSize: bigint;
  readonly numGtesPerGt: number;
  readonly rgdOffset: bigint;
  readonly gdOffset: bigint;
  readonly grainOffset: bigint;
  readonly filler: number;
  readonly checkBytes: Uint8Array;
  readonly compressAlgorithm: number;
}

/** Decode a sector (shorter input reads as zero-padded). Total: validation is separate. */
export function decodeVmdk4Header(b: Uint8Array): Vmdk4Header {
  const s = new Uint8Array(SECTOR);
  s.set(b.subarray(0, SECTOR));
  const dv = new DataView(s.buffer);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  return {
    magic: dv.getUint32(0, false),
    version: dv.getUint32(4, true),
    flags: dv.getUint32(8, true),
    capacity: u64(12),
    granularity: u64(20),
    descOffset: u64(28),
    descSize: u64(36),
    numGtesPerGt: dv.getUint32(44, true),
    rgdOffset: u64(48),
    gdOffset: u64(56),
    grainOffset: u64(64),
    filler: s[72],
    checkBytes: s.slice(73, 77),
    compressAlgorithm: dv.getUint16(77, true),
  };
}

export function encodeVmdk4Header(h: Vmdk4Header): Uint8Array {
  const s = new Uint8Array(SECTOR);
  const dv = new DataView(s.buffer);
  const u64 = (o: number, v: bigint) => dv.setBigUint64(o, BigInt.asUintN(64, v), true);
  dv.setUint32(0, h.magic >>> 0, false);
  dv.setUint32(4, h.version >>> 0, true);
  dv.setUint32(8, h.flags >>> 0, true);
  u64(12, h.capacity);
  u64(20, h.granularity);
  u64(28, h.descOffset);
  u64(36, h.descSize);
  dv.setUint32(44, h.numGtesPerGt >>> 0, true);
  u64(48, h.rgdOffset);
  u64(56, h.gdOffset);
  u64(64, h.grainOffset);
  s[72] = h.filler;
  s.set(h.checkBytes.subarray(0, 4), 73);
  dv.setUint16(77, h.compressAlgorithm, true);
  return s;
}

/** The geometry of a sparse extent once its header passed the checks (numbers, all safe). */
export interface SparseLayout {
  readonly sectors: number;
  readonly clusterSectors: number;
  readonly l2Size: number;
  readonly l1Size: number;
  readonly l1Offset: number;
  /** 0 without a redundant grain directory. */
  readonly l1BackupOffset: number;
  readonly compressed: boolean;
  readonly hasMarker: boolean;
  readonly hasZeroGrain: boolean;
  readonly version: number;
}

/** Largest grain QEMU accepts (0x200000 sectors, 1 GiB). */
const MAX_CLUSTER_SECTORS = 0x200000;
/** Largest grain directory QEMU loads (entries). */
export const MAX_L1_SIZE = 32 * 1024 * 1024;
/** The model keeps disk sizes as safe integers of bytes. */
const MAX_SECTORS = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / SECTOR));

/**
 * vmdk_open_vmdk4 and vmdk_add_extent's checks, in their order and words, plus the
 * model's own bound (a capacity whose bytes are not a safe integer). `fileSectors` is the
 * file's length in sectors (rounded up); `writable` whether the node opens read-write.
 */
export function sparseLayout(h: Vmdk4Header, fileSectors: number, writable: boolean): SparseLayout | string {
  const compressed = h.compressAlgorithm === VMDK4_COMPRESSION_DEFLATE;
  if (h.version > 3) return `Unsupported VMDK version ${h.version}`;
  if (h.version === 3 && writable && !compressed) return 'VMDK version 3 must be read only';
  if (h.numGtesPerGt > 512) return 'L2 table size too big';
  const l1EntrySectors = BigInt(h.numGtesPerGt) * h.granularity;
  if (l1EntrySectors === 0n || l1EntrySectors > 0xffffffffn) return 'L1 entry size is invalid';
  if (h.capacity > MAX_SECTORS) return `VMDK capacity of ${h.capacity} sectors is too large`;
  const l1Size = (h.capacity + l1EntrySectors - 1n) / l1EntrySectors;
  if (BigInt(fileSectors) < h.grainOffset) return `File truncated, expecting at least ${h.grainOffset * BigInt(SECTOR)} bytes`;
  if (h.granularity > BigInt(MAX_CLUSTER_SECTORS)) return 'Invalid granularity, image may be corrupt';
  if (l1Size > BigInt(MAX_L1_SIZE)) return 'L1 size too big';
  const rgd = h.flags & VMDK4_FLAG_RGD ? h.rgdOffset : 0n;
  if (h.gdOffset > MAX_SECTORS || rgd > MAX_SECTORS) return 'Grain directory offset is invalid';
  return {
    sectors: Number(h.capacity),
    clusterSectors: Number(h.granularity),
    l2Size: h.numGtesPerGt,
    l1Size: Number(l1Size),
    l1Offset: Number(h.gdOffset) * SECTOR,
    l1BackupOffset: Number(rgd) * SECTOR,
    compressed,
    hasMarker: (h.flags & VMDK4_FLAG_MARKER) !== 0,
    hasZeroGrain: (h.flags & VMDK4_FLAG_ZERO_GRAIN) !== 0,
    version: h.version,
  };
}

/** What vmdk_init_extent writes for an extent of `bytes` (a multiple of 512), QEMU 7.2's layout. */
export function newSparseHeader(bytes: number, compress: boolean, zeroedGrain: boolean): { header: Vmdk4Header; gdSectors: number; gtSize: number; gtCount: number } {
  const granularity = 128;
  const numGtesPerGt = 512;
  const grains = Math.ceil(bytes / SECTOR / granularity);
  const gtSize = Math.ceil((numGtesPerGt * 4) / SECTOR);
  const gtCount = Math.ceil(grains / numGtesPerGt);
  const gdSectors = Math.ceil((gtCount * 4) / SECTOR);
  const descOffset = 1;
  const descSize = 20;
  const rgdOffset = descOffset + descSize;
  const gdOffset = rgdOffset + gdSectors + gtSize * gtCount;
  const grainOffset = Math.ceil((gdOffset + gdSectors + gtSize * gtCount) / granularity) * granularity;
  const header: Vmdk4Header = {
    magic: VMDK4_MAGIC,
    version: compress ? 3 : zeroedGrain ? 2 : 1,
    flags: VMDK4_FLAG_NL_DETECT | VMDK4_FLAG_RGD | (compress ? VMDK4_FLAG_COMPRESS | VMDK4_FLAG_MARKER : 0) | (zeroedGrain ? VMDK4_FLAG_ZERO_GRAIN : 0),
    capacity: BigInt(bytes / SECTOR),
    granularity: BigInt(granularity),
    descOffset: BigInt(descOffset),
    descSize: BigInt(descSize),
    numGtesPerGt,
    rgdOffset: BigInt(rgdOffset),
    gdOffset: BigInt(gdOffset),
    grainOffset: BigInt(grainOffset),
    filler: 0,
    checkBytes: new Uint8Array([0x0a, 0x20, 0x0d, 0x0a]),
    compressAlgorithm: compress ? VMDK4_COMPRESSION_DEFLATE : 0,
  };
  return { header, gdSectors, gtSize, gtCount };
}

/** A metadata marker sector of a stream-optimized extent: { val, size 0, type }. */
export function decodeMarker(b: Uint8Array): { val: bigint; size: number; type: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return { val: dv.getBigUint64(0, true), size: dv.getUint32(8, true), type: dv.getUint32(12, true) };
}
