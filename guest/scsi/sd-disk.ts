/**
 * What sd knows about a disk (struct scsi_disk, drivers/scsi/sd.h) and the queue limits it
 * derives from that (sd_revalidate_disk's second half, sd_config_discard,
 * sd_config_write_same, sd_set_flush_flag).
 */
import { BLK_DEF_MAX_SECTORS_CAP, resolveLimits, type QueueLimits } from '../blockdev/limits.js';
import type { ScsiDevice } from './device.js';

/** Provisioning (discard) modes, sd_discard_mode's answers (enum SD_LBP_*). */
export type ProvisioningMode = 'full' | 'unmap' | 'ws16' | 'ws10' | 'zero' | 'disable';
/** How write-zeroes is done (enum SD_ZERO_*). */
export type ZeroingMode = 'write' | 'ws' | 'ws16-unmap' | 'ws10-unmap';

export const SD_MAX_WS10_BLOCKS = 0xffff;
export const SD_MAX_WS16_BLOCKS = 0x7fffff;
/** SD_DEF_XFER_BLOCKS / SD_MAX_XFER_BLOCKS: the TRANSFER LENGTH a 10- or 16-byte CDB holds. */
export const SD_DEF_XFER_BLOCKS = 0xffff;
export const SD_MAX_XFER_BLOCKS = 0xffffffff;
/** SG_MAX_SEGMENTS: scsi_init_limits caps max_segments here. */
export const SG_MAX_SEGMENTS = 2048;

export interface ScsiDisk {
  readonly name: string;
  readonly sdev: ScsiDevice;
  /** Logical blocks. */
  capacity: number;
  sectorSize: number;
  physicalBlockSize: number;
  mediaPresent: boolean;
  writeProt: boolean;
  /** Write cache enabled, read cache disabled, DPO/FUA supported (caching page, mode header). */
  wce: boolean;
  rcd: boolean;
  dpofua: boolean;
  /** Thin provisioning: LBPME from READ CAPACITY(16), LBPRZ, and the 0xB2 page's bits. */
  lbpme: boolean;
  lbprz: boolean;
  lbpvpd: boolean;
  lbpu: boolean;
  lbpws: boolean;
  lbpws10: boolean;
  /** Block limits page (0xB0). */
  minXferBlocks: number;
  maxXferBlocks: number;
  optXferBlocks: number;
  maxUnmapBlocks: number;
  unmapGranularity: number;
  unmapAlignment: number;
  maxWsBlocks: number;
  provisioningMode: ProvisioningMode;
  zeroingMode: ZeroingMode;
  noWriteSame: boolean;
  /** The device is solid state (0xB1 MEDIUM ROTATION RATE 1). */
  nonRotational: boolean;
}

export function newScsiDisk(name: string, sdev: ScsiDevice): ScsiDisk {
  return {
    name,
    sdev,
    capacity: 0,
    sectorSize: 512,
    physicalBlockSize: 512,
    mediaPresent: true,
    writeProt: false,
    wce: false,
    rcd: false,
    dpofua: false,
    lbpme: false,
    lbprz: false,
    lbpvpd: false,
    lbpu: false,
    lbpws: false,
    lbpws10: false,
    minXferBlocks: 0,
    maxXferBlocks: 0,
    optXferBlocks: 0,
    maxUnmapBlocks: 0,
    unmapGranularity: 0,
    unmapAlignment: 0,
    maxWsBlocks: 0,
    provisioningMode: 'full',
    zeroingMode: 'write',
    noWriteSame: false,
    nonRotational: false,
  };
}

const minNotZero = (a: number, b: number): number => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

/** sd_discard_mode. */
export function sdDiscardMode(d: ScsiDisk): ProvisioningMode {
  if (!d.lbpme) return 'full';
  if (!d.lbpvpd) return d.maxUnmapBlocks ? 'unmap' : 'ws16';
  if (d.lbpu && d.maxUnmapBlocks) return 'unmap';
  if (d.lbpws) return 'ws16';
  if (d.lbpws10) return 'ws10';
  return 'disable';
}

/** sd_config_discard: the largest discard, in logical blocks, for a mode. */
export function discardMaxBlocks(d: ScsiDisk, mode: ProvisioningMode): number {
  switch (mode) {
    case 'full':
    case 'disable':
      return 0;
    case 'unmap':
      return minNotZero(d.maxUnmapBlocks, SD_MAX_WS16_BLOCKS);
    case 'ws16':
      return minNotZero(d.maxWsBlocks, SD_MAX_WS16_BLOCKS);
    case 'ws10':
    case 'zero':
      return minNotZero(d.maxWsBlocks, SD_MAX_WS10_BLOCKS);
  }
}

/**
 * sd_config_write_same: WRITE SAME is assumed to work (REPORT SUPPORTED OPERATION CODES is
 * not asked, as for a device without it), up to 64 Ki blocks unless the block limits page
 * allows more; write-zeroes may unmap when unmapped blocks read as zeroes.
 */
export function configWriteSame(d: ScsiDisk): void {
  if (d.noWriteSame) d.maxWsBlocks = 0;
  else if (d.maxWsBlocks > SD_MAX_WS10_BLOCKS) d.maxWsBlocks = Math.min(d.maxWsBlocks, SD_MAX_WS16_BLOCKS);
  else d.maxWsBlocks = minNotZero(d.maxWsBlocks, SD_MAX_WS10_BLOCKS);
  if (d.lbprz && d.lbpws) d.zeroingMode = 'ws16-unmap';
  else if (d.lbprz && d.lbpws10) d.zeroingMode = 'ws10-unmap';
  else if (d.maxWsBlocks) d.zeroingMode = 'ws';
  else d.zeroingMode = 'write';
}

/** The disk's queue limits (sd_revalidate_disk and scsi_init_limits), in 512-byte sectors. */
export function sdLimits(d: ScsiDisk): QueueLimits {
  const host = d.sdev.host;
  const perBlock = d.sectorSize / 512;
  const devMax = minNotZero(d.sdev.use16ForRw ? SD_MAX_XFER_BLOCKS : SD_DEF_XFER_BLOCKS, d.maxXferBlocks);
  const maxHwSectors = Math.max(perBlock, Math.min(host.maxSectors, devMax * perBlock));
  const discardBlocks = discardMaxBlocks(d, d.provisioningMode);
  return resolveLimits({
    logicalBlockSize: d.sectorSize,
    physicalBlockSize: Math.max(d.physicalBlockSize, d.sectorSize),
    maxHwSectors,
    maxSectors: Math.min(maxHwSectors, BLK_DEF_MAX_SECTORS_CAP),
    maxSegments: Math.min(host.sgTablesize, SG_MAX_SEGMENTS),
    maxDiscardSectors: discardBlocks * perBlock,
    maxDiscardSegments: 1,
    discardGranularity: Math.max(d.physicalBlockSize, d.unmapGranularity * d.sectorSize, d.sectorSize),
    maxWriteZeroesSectors: d.noWriteSame ? 0 : d.maxWsBlocks * perBlock,
    writeCache: d.wce,
    fua: d.wce && d.dpofua,
  });
}

/** 512-byte sectors of the disk (set_capacity), kept a safe integer. */
export const capacitySectors = (d: ScsiDisk): number => Math.min(d.capacity * (d.sectorSize / 512), Number.MAX_SAFE_INTEGER);
