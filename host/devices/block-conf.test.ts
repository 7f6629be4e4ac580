import { describe, expect, it } from 'vitest';
import { checkBlockSize, checkBlockSizes, checkGeometry } from './block-conf.js';

describe('checkBlockSize (set_blocksize)', () => {
  it('takes 0 and powers of two in [512, 2 MiB], naming the device in the message', () => {
    for (const n of [0, 512, 4096, 2 * 1024 * 1024]) expect(checkBlockSize('d', 'logical_block_size', n)).toBeUndefined();
    expect(checkBlockSize('scsi-hd', 'physical_block_size', 256)?.message).toBe("Property scsi-hd.physical_block_size doesn't take value 256 (minimum: 512, maximum: 2 MiB)");
    expect(checkBlockSize('d', 'x', 4 * 1024 * 1024)?.message).toMatch(/minimum: 512, maximum: 2 MiB/);
    expect(checkBlockSize('virtio-blk', 'x', 1536)?.message).toBe("Property virtio-blk.x doesn't take value '1536', it's not a power of 2");
    expect(checkBlockSize('d', 'x', Number.NaN)?.name).toBe('x');
  });
});

describe('checkBlockSizes (blkconf_blocksizes)', () => {
  const ok = { logical: 512, physical: 4096, min_io_size: 4096, opt_io_size: 0, discard_granularity: -1 };
  it('accepts consistent sizes and refuses each inconsistency, in QEMU order', () => {
    expect(checkBlockSizes(ok)).toBeUndefined();
    expect(checkBlockSizes({ ...ok, logical: 8192 })?.name).toBe('logical_block_size');
    expect(checkBlockSizes({ ...ok, min_io_size: 100 })?.message).toBe('min_io_size must be a multiple of logical_block_size');
    expect(checkBlockSizes({ ...ok, min_io_size: 512 * 0x10000 })?.message).toBe('min_io_size must not exceed 65535 logical blocks');
    expect(checkBlockSizes({ ...ok, opt_io_size: 513 })?.name).toBe('opt_io_size');
    expect(checkBlockSizes({ ...ok, discard_granularity: 100 })?.name).toBe('discard_granularity');
    expect(checkBlockSizes({ ...ok, discard_granularity: 1024 })).toBeUndefined();
  });
});

describe('checkGeometry (blkconf_geometry)', () => {
  it('bounds cylinders, heads and sectors', () => {
    expect(checkGeometry(65535, 255, 255)).toBeUndefined();
    expect(checkGeometry(0, 16, 63)?.name).toBe('cyls');
    expect(checkGeometry(100, 256, 63)?.name).toBe('heads');
    expect(checkGeometry(100, 16, 0)?.message).toBe('secs must be between 1 and 255');
  });
});
