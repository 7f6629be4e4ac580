/**
 * virtio-blk (virtio 1.x §5.2, device-types/blk/description.tex).
 *
 * Request: struct virtio_blk_req
 *   device-readable header (16 bytes): +0 le32 type  +4 le32 reserved (ioprio)  +8 le64 sector
 *   data[]  (device-readable for OUT/DISCARD/WRITE_ZEROES, device-writable for IN/GET_ID)
 *   u8 status (device-writable, the last byte of the chain)
 *
 * Config space: struct virtio_blk_config, offsets below.
 */
import { PAGE_SIZE, type GuestMemory } from '../memory.js';

/* Feature bits */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_GEOMETRY = 4;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_MQ = 12;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;

/* Request types */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;

/* Status */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const VIRTIO_BLK_SECTOR_SIZE = 512;
export const VIRTIO_BLK_OUTHDR_SIZE = 16;
/** GET_ID answers 20 bytes (VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_ID_BYTES = 20;
/** struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags. */
export const VIRTIO_BLK_DWZ_SEG_SIZE = 16;
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

/* struct virtio_blk_config offsets */
export const VIRTIO_BLK_CFG_CAPACITY = 0x00;
export const VIRTIO_BLK_CFG_SIZE_MAX = 0x08;
export const VIRTIO_BLK_CFG_SEG_MAX = 0x0c;
export const VIRTIO_BLK_CFG_GEOMETRY = 0x10;
export const VIRTIO_BLK_CFG_BLK_SIZE = 0x14;
export const VIRTIO_BLK_CFG_PHYS_BLOCK_EXP = 0x18;
export const VIRTIO_BLK_CFG_ALIGNMENT_OFFSET = 0x19;
export const VIRTIO_BLK_CFG_MIN_IO_SIZE = 0x1a;
export const VIRTIO_BLK_CFG_OPT_IO_SIZE = 0x1c;
export const VIRTIO_BLK_CFG_WRITEBACK = 0x20;
export const VIRTIO_BLK_CFG_NUM_QUEUES = 0x22;
export const VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS = 0x24;
export const VIRTIO_BLK_CFG_MAX_DISCARD_SEG = 0x28;
export const VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 0x2c;
export const VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 0x30;
export const VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG = 0x34;
export const VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 0x38;
/** Bytes of config space QEMU exposes (up to and including write_zeroes_may_unmap + padding). */
export const VIRTIO_BLK_CFG_SIZE = 0x3c;

/** The 16-byte request header. */
export interface VirtioBlkOutHdr {
  type: number;
  ioprio: number;
  sector: number;
}

export function writeOutHdr(mem: GuestMemory, addr: number, h: VirtioBlkOutHdr): void {
  const p = mem.pageForWrite(addr, VIRTIO_BLK_OUTHDR_SIZE);
  if (p === undefined) {
    mem.write32(addr, h.type);
    mem.write32(addr + 4, h.ioprio);
    mem.write64(addr + 8, h.sector);
    return;
  }
  const o = addr % PAGE_SIZE;
  putLe32(p, o, h.type);
  putLe32(p, o + 4, h.ioprio);
  putLe32(p, o + 8, h.sector % 0x1_0000_0000);
  putLe32(p, o + 12, Math.floor(h.sector / 0x1_0000_0000));
}

function putLe32(p: Uint8Array, o: number, v: number): void {
  p[o] = v;
  p[o + 1] = v >>> 8;
  p[o + 2] = v >>> 16;
  p[o + 3] = v >>> 24;
}

export function readOutHdr(mem: GuestMemory, addr: number): VirtioBlkOutHdr {
  return { type: mem.read32(addr), ioprio: mem.read32(addr + 4), sector: mem.read64(addr + 8) };
}

/** One discard / write-zeroes range. */
export interface DwzSegment {
  sector: number;
  numSectors: number;
  flags: number;
}

export function encodeDwzSegments(segs: readonly DwzSegment[]): Uint8Array {
  const out = new Uint8Array(segs.length * VIRTIO_BLK_DWZ_SEG_SIZE);
  const dv = new DataView(out.buffer);
  segs.forEach((s, i) => {
    const o = i * VIRTIO_BLK_DWZ_SEG_SIZE;
    dv.setBigUint64(o, BigInt(s.sector), true);
    dv.setUint32(o + 8, s.numSectors, true);
    dv.setUint32(o + 12, s.flags, true);
  });
  return out;
}

/** Decode the segments of a discard / write-zeroes payload; trailing partial bytes are ignored. */
export function decodeDwzSegments(bytes: Uint8Array): DwzSegment[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: DwzSegment[] = [];
  for (let o = 0; o + VIRTIO_BLK_DWZ_SEG_SIZE <= bytes.length; o += VIRTIO_BLK_DWZ_SEG_SIZE) {
    out.push({ sector: Number(dv.getBigUint64(o, true)), numSectors: dv.getUint32(o + 8, true), flags: dv.getUint32(o + 12, true) });
  }
  return out;
}

/** Request type names for traces. Unknown types decode to `unsupported(n)`, never a failure. */
export function blkTypeName(t: number): string {
  switch (t) {
    case VIRTIO_BLK_T_IN:
      return 'IN';
    case VIRTIO_BLK_T_OUT:
      return 'OUT';
    case VIRTIO_BLK_T_FLUSH:
      return 'FLUSH';
    case VIRTIO_BLK_T_GET_ID:
      return 'GET_ID';
    case VIRTIO_BLK_T_DISCARD:
      return 'DISCARD';
    case VIRTIO_BLK_T_WRITE_ZEROES:
      return 'WRITE_ZEROES';
    default:
      return `unsupported(${t})`;
  }
}

export function blkStatusName(s: number): string {
  return s === VIRTIO_BLK_S_OK ? 'OK' : s === VIRTIO_BLK_S_IOERR ? 'IOERR' : s === VIRTIO_BLK_S_UNSUPP ? 'UNSUPP' : `status(${s})`;
}
