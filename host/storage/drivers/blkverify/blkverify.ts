/**
 * `blkverify`: QEMU's differential checker (block/blkverify.c). Every read and write goes
 * to both children, `test` (the image under test, e.g. a qcow2 node) and `raw` (a plain
 * copy known to be right); a read compares the two results byte for byte. The guest sees
 * `test`: its data, its length.
 *
 *   { driver: 'blkverify', raw: { driver: 'file', filename: 'ref.img' },
 *     test: { driver: 'qcow2', file: { driver: 'file', filename: 'x.qcow2' } } }
 *
 * On a difference QEMU prints, and exits:
 *
 *   blkverify: read offset=4096 bytes=512 contents mismatch at offset 4100
 *   blkverify: write offset=0 bytes=512 return value mismatch -5 != 0
 *
 * Here exiting is not an option (a bad image must not bring the simulator down), so the
 * request fails with EIO carrying that message, the node keeps it as its failure
 * (`blkverifyFailure`) and from then on fails every request with it: it is as dead as
 * QEMU would be, and says why.
 *
 * Write-zeroes reach both children as zero writes (the generic layer's fallback);
 * discard is ignored, as blkverify has none; resize is not supported. QEMU flushes only
 * `test`; the generic layer here flushes both children.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../block-backend-api.js';
import type { BlockDriver } from '../../driver.js';
import { ERRNO_NUMBER, ioError, type Errno } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import type { OptionTable } from '../../options.js';
import { registerBlockDriver } from '../../registry.js';

const OPTIONS = {} as const satisfies OptionTable;


export interface BlkverifyState {
  readonly nodeName: string;
  readonly raw: BlockDriverState;
  readonly test: BlockDriverState;
  /** The first mismatch; once set, every request fails with it. */
  failure: string | undefined;
}

const ret = (err: BlockIoError | null): number => (err ? -ERRNO_NUMBER[err.errno] : 0);

/** The first index where `a` and `b` differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function mismatch(s: BlkverifyState, op: 'read' | 'write', offset: number, bytes: number, what: string): BlockIoError {
  s.failure = `blkverify: ${op} offset=${offset} bytes=${bytes} ${what}`;
  return ioError('EIO', `${s.nodeName}: ${s.failure}`);
}

/** Both children's results must agree; the test child's is the request's. */
function compareReturns(s: BlkverifyState, op: 'read' | 'write', offset: number, bytes: number, testErr: BlockIoError | null, rawErr: BlockIoError | null): BlockIoError | null {
  if (ret(testErr) !== ret(rawErr)) return mismatch(s, op, offset, bytes, `return value mismatch ${ret(testErr)} != ${ret(rawErr)}`);
  return testErr;
}

const dead = (s: BlkverifyState): BlockIoError | null => (s.failure === undefined ? null : ioError('EIO', `${s.nodeName}: ${s.failure}`));

export const blkverifyDriver: BlockDriver<BlkverifyState, typeof OPTIONS> = {
  formatName: 'blkverify',
  options: OPTIONS,

  open(_opts, ctx) {
    return E.flatMap(ctx.openChild('raw'), (raw) => E.map((test: BlockDriverState): BlkverifyState => ({ nodeName: ctx.nodeName, raw, test, failure: undefined }))(ctx.openChild('test')));
  },

  preadv(s, offset, buf, acct) {
    const d = dead(s);
    if (d) return d;
    const copy = new Uint8Array(buf.length);
    const err = compareReturns(s, 'read', offset, buf.length, s.test.preadv(offset, buf, acct), s.raw.preadv(offset, copy, acct));
    if (err) return err;
    const at = firstDifference(buf, copy);
    return at < 0 ? null : mismatch(s, 'read', offset, buf.length, `contents mismatch at offset ${offset + at}`);
  },

  pwritev(s, offset, data, flags, acct) {
    const d = dead(s);
    if (d) return d;
    return compareReturns(s, 'write', offset, data.length, s.test.pwritev(offset, data, flags, acct), s.raw.pwritev(offset, data, flags, acct));
  },

  flush(s) {
    return dead(s);
  },

  getLength(s) {
    return s.test.getLength();
  },

  close() {},
};

registerBlockDriver(blkverifyDriver);

/** The mismatch a blkverify node found, if `bs` is one and it found one. */
export function blkverifyFailure(bs: BlockDriverState): string | undefined {
  return bs.drv === (blkverifyDriver as unknown) ? (bs.opaque as BlkverifyState).failure : undefined;
}
