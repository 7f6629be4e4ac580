/**
 * struct virtio_blk_config (virtio 1.x §5.2.4), filled as QEMU's virtio_blk_update_config()
 * fills it. Little-endian; offsets from hw/virtio/blk.ts:
 *
 *   0x00 le64 capacity (512-byte sectors)   0x08 le32 size_max (0)   0x0c le32 seg_max
 *   0x10 le16 cylinders  0x12 u8 heads  0x13 u8 sectors              0x14 le32 blk_size
 *   0x18 u8 physical_block_exp  0x19 u8 alignment_offset  0x1a le16 min_io_size (blocks)
 *   0x1c le32 opt_io_size (blocks)  0x20 u8 writeback  0x22 le16 num_queues
 *   0x24 le32 max_discard_sectors  0x28 le32 max_discard_seg  0x2c le32 discard_sector_alignment
 *   0x30 le32 max_write_zeroes_sectors  0x34 le32 max_write_zeroes_seg  0x38 u8 write_zeroes_may_unmap
 *
 * The exposed size follows virtio_blk_cfg_size_params: up to num_queues (0x24), to the
 * discard fields (0x30) with DISCARD, to write_zeroes_may_unmap (0x39) with WRITE_ZEROES.
 * Only `writeback` is writable.
 */
import {
  VIRTIO_BLK_CFG_BLK_SIZE,
  VIRTIO_BLK_CFG_CAPACITY,
  VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT,
  VIRTIO_BLK_CFG_GEOMETRY,
  VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS,
  VIRTIO_BLK_CFG_MAX_DISCARD_SEG,
  VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS,
  VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG,
  VIRTIO_BLK_CFG_MIN_IO_SIZE,
  VIRTIO_BLK_CFG_NUM_QUEUES,
  VIRTIO_BLK_CFG_OPT_IO_SIZE,
  VIRTIO_BLK_CFG_PHYS_BLOCK_EXP,
  VIRTIO_BLK_CFG_SEG_MAX,
  VIRTIO_BLK_CFG_SIZE,
  VIRTIO_BLK_CFG_SIZE_MAX,
  VIRTIO_BLK_CFG_WRITEBACK,
  VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP,
} from '../../../hw/virtio/blk.js';
import type { VirtioBlkConf } from './props.js';

/** Config bytes exposed for these properties (virtio_get_config_size). */
export function virtioBlkConfigSize(conf: VirtioBlkConf): number {
  if (conf['write-zeroes']) return VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP + 1;
  if (conf.discard) return VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT + 4;
  return VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS;
}

/** get_physical_block_exp(): log2(physical / logical). */
function physicalBlockExp(conf: VirtioBlkConf): number {
  let exp = 0;
  for (let size = conf.physical_block_size; size > conf.logical_block_size; size = Math.floor(size / 2)) exp++;
  return exp;
}

/** The whole struct (0x3c bytes) for a disk of `lengthBytes` with write cache `wce`. */
export function encodeVirtioBlkConfig(conf: VirtioBlkConf, lengthBytes: number, wce: boolean): Uint8Array {
  const buf = new Uint8Array(VIRTIO_BLK_CFG_SIZE);
  const dv = new DataView(buf.buffer);
  const blk = conf.logical_block_size;
  const capacity = Math.floor(lengthBytes / 512);
  dv.setUint32(VIRTIO_BLK_CFG_CAPACITY, capacity % 0x1_0000_0000, true);
  dv.setUint32(VIRTIO_BLK_CFG_CAPACITY + 4, Math.floor(capacity / 0x1_0000_0000), true);
  dv.setUint32(VIRTIO_BLK_CFG_SIZE_MAX, 0, true);
  dv.setUint32(VIRTIO_BLK_CFG_SEG_MAX, conf['seg-max-adjust'] ? conf['queue-size'] - 2 : 128 - 2, true);
  dv.setUint16(VIRTIO_BLK_CFG_GEOMETRY, conf.cyls & 0xffff, true);
  buf[VIRTIO_BLK_CFG_GEOMETRY + 2] = conf.heads & 0xff;
  // A capacity that is not a whole number of blk_size blocks per track: round secs down to blocks.
  const sectorMask = blk / 512 - 1;
  const perTrack = Math.floor(Math.floor(lengthBytes / conf.heads) / conf.secs);
  buf[VIRTIO_BLK_CFG_GEOMETRY + 3] = (lengthBytes > 0 && perTrack % blk !== 0 ? conf.secs & ~sectorMask : conf.secs) & 0xff;
  dv.setUint32(VIRTIO_BLK_CFG_BLK_SIZE, blk, true);
  buf[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = physicalBlockExp(conf);
  dv.setUint16(VIRTIO_BLK_CFG_MIN_IO_SIZE, Math.floor(conf.min_io_size / blk), true);
  dv.setUint32(VIRTIO_BLK_CFG_OPT_IO_SIZE, Math.floor(conf.opt_io_size / blk), true);
  buf[VIRTIO_BLK_CFG_WRITEBACK] = wce ? 1 : 0;
  dv.setUint16(VIRTIO_BLK_CFG_NUM_QUEUES, conf['num-queues'], true);
  if (conf.discard) {
    const gran = conf.discard_granularity === -1 || !conf['report-discard-granularity'] ? blk : conf.discard_granularity;
    dv.setUint32(VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, conf['max-discard-sectors'], true);
    dv.setUint32(VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, Math.floor(gran / 512), true);
    // "We support only one segment per request since multiple segments are not widely used"
    dv.setUint32(VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1, true);
  }
  if (conf['write-zeroes']) {
    dv.setUint32(VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, conf['max-write-zeroes-sectors'], true);
    buf[VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
    dv.setUint32(VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 1, true);
  }
  return buf;
}

/** A little-endian read of `size` bytes; 0 when any byte lies outside the first `limit`. */
export function readConfigBytes(buf: Uint8Array, limit: number, offset: number, size: 1 | 2 | 4 | 8): number {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > limit || offset + size > buf.length) return 0;
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[offset + i];
  return v;
}

/**
 * The writeback byte a config write sets, or undefined when the write does not cover it.
 * (QEMU copies the write into the config buffer and then reads back only `wce`.)
 */
export function writebackFromConfigWrite(limit: number, offset: number, size: 1 | 2 | 4 | 8, value: number): boolean | undefined {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > limit) return undefined;
  const at = VIRTIO_BLK_CFG_WRITEBACK - offset;
  if (at < 0 || at >= size) return undefined;
  return Math.floor(value / 2 ** (8 * at)) % 256 !== 0;
}
