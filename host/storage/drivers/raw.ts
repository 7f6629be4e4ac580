/**
 * `raw`: QEMU's raw format driver (block/raw-format.c). The guest's bytes are the bytes of
 * its `file` child, optionally a window of it: `offset` skips a header, `size` fixes the
 * disk's size (then the disk cannot be resized).
 *
 * It caches nothing, so its flush is the generic layer flushing `file`; FUA is passed down
 * to the child where the child honours it (else the generic layer flushes this node).
 * Before each read and write it tells `file` 'read_aio' / 'write_aio' (a blkdebug node
 * there may fail the request). Its probe scores 1, the lowest: raw is chosen only when no
 * other format recognises an image. (QEMU then also refuses guest writes that would
 * change the probed format of sector 0; the model does not.)
 */
import * as E from 'fp-ts/lib/Either.js';
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RAW, type BlockDriver } from '../driver.js';
import type { BlockError } from '../errors.js';
import { ioError } from '../errors.js';
import type { BlockDriverState } from '../node.js';
import type { OptionTable } from '../options.js';
import { findProtocolDriver, registerBlockDriver } from '../registry.js';

const OPTIONS = {
  offset: { type: 'size', default: 0, help: 'offset in the disk where the image starts' },
  size: { type: 'size', help: 'virtual disk size' },
} as const satisfies OptionTable;

const BDRV_SECTOR_SIZE = 512;

export interface RawState {
  readonly file: BlockDriverState;
  readonly offset: number;
  /** Fixed size, or undefined to follow the file. */
  readonly size: number | undefined;
}

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'raw', message });

export const rawDriver: BlockDriver<RawState, typeof OPTIONS> = {
  formatName: 'raw',
  options: OPTIONS,
  supportsFua: 'child',

  probe() {
    return 1;
  },

  create(filename, size, _opts, ctx) {
    return E.flatMap(findProtocolDriver(filename), (drv) =>
      drv.create ? drv.create(filename, size, {}, ctx) : fail(`Protocol driver '${drv.formatName}' does not support image creation`),
    );
  },

  open(opts, ctx) {
    return E.flatMap(ctx.openChild('file'), (file) => {
      const { offset, size } = opts;
      const real = file.getLength();
      if (offset > real) return fail(`Offset (${offset}) cannot be greater than size of the containing file (${real})`);
      if (size !== undefined && real - offset < size) {
        return fail(`The sum of offset (${offset}) and size (${size}) has to be smaller or equal to the actual size of the containing file (${real})`);
      }
      if (size !== undefined && size % BDRV_SECTOR_SIZE !== 0) return fail(`Specified size is not multiple of ${BDRV_SECTOR_SIZE}`);
      return E.right({ file, offset, size });
    });
  },

  preadv(s, offset, buf, acct) {
    s.file.debugEvent('read_aio');
    return s.file.preadv(offset + s.offset, buf, acct);
  },

  pwritev(s, offset, data, flags, acct) {
    s.file.debugEvent('write_aio');
    return s.file.pwritev(offset + s.offset, data, flags, acct);
  },

  pwritevParts(s, offset, data, flags, acct) {
    s.file.debugEvent('write_aio');
    return s.file.pwritevParts(offset + s.offset, data, flags, acct);
  },

  discard(s, offset, bytes, acct) {
    return s.file.discard(offset + s.offset, bytes, acct);
  },

  writeZeroes(s, offset, bytes, flags, acct) {
    return s.file.writeZeroes(offset + s.offset, bytes, flags, acct);
  },

  blockStatus(s, offset, bytes) {
    return { flags: BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID, pnum: bytes, map: offset + s.offset, file: s.file };
  },

  truncate(s, size) {
    if (s.size !== undefined) return ioError('ENOTSUP', 'Cannot resize fixed-size raw disks');
    return s.file.truncate(size + s.offset);
  },

  getLength(s) {
    const len = s.file.getLength();
    if (len < s.offset) return 0;
    return s.size === undefined ? len - s.offset : Math.min(s.size, len - s.offset);
  },

  close() {},
};

registerBlockDriver(rawDriver);
