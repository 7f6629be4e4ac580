/**
 * `null-co`: QEMU's null block driver (block/null.c). Writes are discarded; reads return
 * zeroes only with read-zeroes=on (otherwise the buffer is left as it was: the content is
 * unspecified, and here reads as zeroes only because the BlockBackend hands over a fresh
 * buffer). Every read, write and flush takes `latency-ns` of modelled time and nothing
 * else: no 'backend.*' cost applies. It has no discard, no write-zeroes (the generic
 * layer writes zero buffers, each discarded) and no resize.
 *
 * Options: size (default 1 GiB), latency-ns (default 0), read-zeroes (default off, as in
 * the QEMU versions our facts were taken from).
 */
import * as E from 'fp-ts/lib/Either.js';
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, type BlockDriver } from '../driver.js';
import type { OptionTable } from '../options.js';
import { registerBlockDriver } from '../registry.js';

const OPTIONS = {
  size: { type: 'size', default: 1 << 30, help: 'size of the null block' },
  'latency-ns': { type: 'number', default: 0, help: 'nanoseconds (approximated) to wait before completing request' },
  'read-zeroes': { type: 'bool', default: false, help: 'return zeroes when read' },
} as const satisfies OptionTable;

export interface NullState {
  readonly length: number;
  readonly latencyNs: number;
  readonly readZeroes: boolean;
}

export const nullCoDriver: BlockDriver<NullState, typeof OPTIONS> = {
  formatName: 'null-co',
  protocol: true,
  protocolName: 'null-co',
  options: OPTIONS,
  supportsFua: true,

  parseFilename(filename) {
    return filename === 'null-co://'
      ? E.right({})
      : E.left({ _tag: 'DriverError', driver: 'null-co', message: "The only allowed filename for this driver is 'null-co://'" });
  },

  open(opts) {
    const latencyNs = opts['latency-ns'];
    if (latencyNs < 0) return E.left({ _tag: 'DriverError', driver: 'null-co', message: 'latency-ns is invalid' });
    return E.right({ length: opts.size, latencyNs, readZeroes: opts['read-zeroes'] });
  },

  preadv(s, _offset, buf, acct) {
    if (s.readZeroes) buf.fill(0);
    acct.ns += s.latencyNs;
    return null;
  },

  pwritev(s, _offset, _data, _flags, acct) {
    acct.ns += s.latencyNs;
    return null;
  },

  flush(s, acct) {
    acct.ns += s.latencyNs;
    return null;
  },

  blockStatus(s, offset, bytes) {
    return { flags: BDRV_BLOCK_OFFSET_VALID | (s.readZeroes ? BDRV_BLOCK_ZERO : 0), pnum: bytes, map: offset };
  },

  getLength(s) {
    return s.length;
  },

  /** Nothing is stored (QEMU's null_allocated_file_size). */
  allocatedFileSize() {
    return 0;
  },

  close() {},
};

registerBlockDriver(nullCoDriver);
