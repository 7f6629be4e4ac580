import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { newBlockEnv } from '../../storage/testing.js';
import { createScsiDisk } from './device.js';
import { DEFAULT_SCSI_DISK_PROPS, parseScsiDiskProps, realizeScsiDiskProps, scsiDiskPropErrorMessage } from './props.js';

describe('scsi-disk properties', () => {
  it('parses command-line strings: sizes, hex WWN, on/off, rerror/werror', () => {
    const r = parseScsiDiskProps('scsi-hd', { serial: 'abc', wwn: '0x5000c50015ea71ac', max_unmap_size: '64M', removable: 'on', werror: 'stop', 'scsi-id': '3', rotation_rate: '7200' });
    expect(E.isRight(r) && r.right).toMatchObject({ serial: 'abc', wwn: 0x5000c50015ea71acn, max_unmap_size: 64 * 1024 * 1024, removable: true, werror: 'stop', 'scsi-id': 3, rotation_rate: 7200 });
  });

  it('refuses bad values and hd-only properties on scsi-cd, with QEMU-style messages', () => {
    const bad = parseScsiDiskProps('scsi-hd', { rotation_rate: '70000' });
    expect(E.isLeft(bad) && scsiDiskPropErrorMessage('scsi-hd', bad.left)).toBe('Property \'scsi-hd.rotation_rate\' expects a uint16, got "70000"');
    const cd = parseScsiDiskProps('scsi-cd', { removable: 'on' });
    expect(E.isLeft(cd) && scsiDiskPropErrorMessage('scsi-cd', cd.left)).toBe("Property 'removable' not found");
    expect(E.isLeft(parseScsiDiskProps('scsi-hd', { werror: 'explode' }))).toBe(true);
  });

  it('realize: blkconf_blocksizes checks and defaults', () => {
    const msg = (p: Partial<typeof DEFAULT_SCSI_DISK_PROPS>) => {
      const r = realizeScsiDiskProps('scsi-hd', { ...DEFAULT_SCSI_DISK_PROPS, ...p }, 1 << 20);
      return E.isLeft(r) ? scsiDiskPropErrorMessage('scsi-hd', r.left) : r.right;
    };
    expect(msg({ logical_block_size: 4096 })).toBe('logical_block_size > physical_block_size not supported');
    expect(msg({ min_io_size: 1000 })).toBe('min_io_size must be a multiple of logical_block_size');
    expect(msg({ logical_block_size: 1000 })).toBe("Property scsi-hd.logical_block_size doesn't take value '1000', it's not a power of 2");
    expect(msg({ cyls: 70000, heads: 16, secs: 63 })).toBe('cyls must be between 1 and 65535');
    expect(msg({})).toMatchObject({ blocksize: 512, discard_granularity: 4096, product: 'QEMU HARDDISK', cyls: 2, heads: 16, secs: 63 });
    const cd = realizeScsiDiskProps('scsi-cd', DEFAULT_SCSI_DISK_PROPS, 0);
    expect(E.isRight(cd) && cd.right).toMatchObject({ blocksize: 2048, removable: true, product: 'QEMU CD-ROM' });
  });

  it('scsi-hd without a drive: "drive property not set"', () => {
    const env = newBlockEnv();
    expect(createScsiDisk({ kind: 'scsi-hd', sim: env.sim, trace: env.trace, name: 'd' })).toEqual(E.left({ _tag: 'NoDrive', message: 'drive property not set' }));
  });
});
