/**
 * The block-device property checks every disk front end shares (QEMU's hw/core/qdev-properties
 * set_blocksize and hw/block/block.c blkconf_blocksizes, blkconf_geometry), with QEMU's words:
 * scsi-hd/scsi-cd and virtio-blk both run them at realize. Each returns the offending
 * property and message, or undefined; the caller wraps it in its own error type.
 */

/** What a block size may be at the least (and what an unset one becomes for an image file). */
export const MIN_BLOCK_SIZE = 512;
/** What a block size may be at the most: 2 MiB. */
export const MAX_BLOCK_SIZE = 2 * 1024 * 1024;

/** A failed check: the property at fault and QEMU's message. */
export interface BlockConfIssue {
  readonly name: string;
  readonly message: string;
}

/** set_blocksize(): 0 (unset) or a power of two in [512, 2 MiB]; `device` names the property in the message. */
export function checkBlockSize(device: string, name: string, n: number): BlockConfIssue | undefined {
  if (n !== 0 && (!Number.isSafeInteger(n) || n < MIN_BLOCK_SIZE || n > MAX_BLOCK_SIZE)) {
    return { name, message: `Property ${device}.${name} doesn't take value ${n} (minimum: 512, maximum: 2 MiB)` };
  }
  if ((n & (n - 1)) !== 0) return { name, message: `Property ${device}.${name} doesn't take value '${n}', it's not a power of 2` };
  return undefined;
}

/** The block sizes and I/O hints blkconf_blocksizes checks (block sizes already resolved: unset → the backend's). */
export interface BlockSizes {
  readonly logical: number;
  readonly physical: number;
  readonly min_io_size: number;
  readonly opt_io_size: number;
  /** -1: unset (the device picks its default later). */
  readonly discard_granularity: number;
}

/** blkconf_blocksizes' checks, in its order. */
export function checkBlockSizes(b: BlockSizes): BlockConfIssue | undefined {
  const lbs = b.logical;
  if (lbs > b.physical) return { name: 'logical_block_size', message: 'logical_block_size > physical_block_size not supported' };
  if (b.min_io_size % lbs !== 0) return { name: 'min_io_size', message: 'min_io_size must be a multiple of logical_block_size' };
  if (b.min_io_size / lbs > 0xffff) return { name: 'min_io_size', message: `min_io_size must not exceed ${0xffff} logical blocks` };
  if (b.opt_io_size % lbs !== 0) return { name: 'opt_io_size', message: 'opt_io_size must be a multiple of logical_block_size' };
  if (b.discard_granularity !== -1 && b.discard_granularity % lbs !== 0) {
    return { name: 'discard_granularity', message: 'discard_granularity must be a multiple of logical_block_size' };
  }
  return undefined;
}

/** blkconf_geometry's range checks on explicit CHS: at most 65535 cylinders, 255 heads, 255 sectors. */
export function checkGeometry(cyls: number, heads: number, secs: number): BlockConfIssue | undefined {
  if (cyls < 1 || cyls > 65535) return { name: 'cyls', message: 'cyls must be between 1 and 65535' };
  if (heads < 1 || heads > 255) return { name: 'heads', message: 'heads must be between 1 and 255' };
  if (secs < 1 || secs > 255) return { name: 'secs', message: 'secs must be between 1 and 255' };
  return undefined;
}
