/**
 * `blkdebug`: QEMU's fault-injection filter (block/blkdebug.c). It passes every request
 * to its child `image` unless a rule armed by an event fails it (rules.ts, engine.ts).
 *
 * Events reach it through `debugEvent` from the node above, which announces what it does
 * next: a format driver names its own steps (qcow2's 'l2_load', 'cluster_alloc', …), raw
 * says 'read_aio' / 'write_aio', and the generic layer says 'flush_to_os' and
 * 'flush_to_disk' to a node's primary child. So blkdebug goes where those are heard, as
 * the parent's `file`:
 *
 *   { driver: 'qcow2', 'file.driver': 'blkdebug', 'file.config': 'rules.conf', 'file.image.filename': 'x.qcow2' }
 *
 * QEMU's generic layer also announces 'pwritev' before a write, 'pwritev_zero' before a
 * write-zeroes and 'pwritev_done' after either to the node being written, where only a
 * blkdebug node listens (events are not passed down); blkdebug announces them to itself
 * here. And 'none' once, when it opens. (The read-modify-write events 'pwritev_rmw_*'
 * are not announced.)
 *
 * Options (QAPI BlockdevOptionsBlkdebug): `image` (the child), `config` (a rules file),
 * `inject-error` and `set-state` (lists: `inject-error.0.event=l2_load`), `align` (the
 * request alignment it demands), `max-transfer` (requests are split into pieces of at
 * most this, each checked against the rules), `opt-write-zero` / `max-write-zero` and
 * `opt-discard` / `max-discard` (write-zeroes and discard are split at these; a
 * write-zeroes piece smaller than its alignment is written as zeroes instead, a discard
 * piece smaller than `align` is dropped, as QEMU's generic layer does with blkdebug's
 * ENOTSUP). Each size must be a multiple of the alignment, as QEMU requires.
 *
 * Modelled time: nothing of its own; an injected error without `immediately` completes
 * through the event loop, 'qemu.aio.completion-bh'. Block status cannot fail in this
 * model, so `iotype=block-status` rules never fire.
 */
import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../block-backend-api.js';
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RAW, type BlockDriver, type IoAcct } from '../../driver.js';
import { systemErrorReason, type BlockError } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import type { OptionTable } from '../../options.js';
import { registerBlockDriver } from '../../registry.js';
import { parseBlkdebugConfig, type ConfigSection } from './config-file.js';
import { BlkdebugEngine } from './engine.js';
import { buildRules, type BlkdebugIoType } from './rules.js';

const OPTIONS = {
  config: { type: 'string', help: 'Path to the configuration file' },
  'inject-error': { type: 'list', help: 'error injection rules: inject-error.N.{event,state,iotype,errno,sector,once,immediately}' },
  'set-state': { type: 'list', help: 'state change rules: set-state.N.{event,state,new_state}' },
  align: { type: 'size', default: 0, help: 'Required alignment in bytes' },
  'max-transfer': { type: 'size', default: 0, help: 'Maximum transfer size in bytes' },
  'opt-write-zero': { type: 'size', default: 0, help: 'Optimum write zero alignment in bytes' },
  'max-write-zero': { type: 'size', default: 0, help: 'Maximum write zero size in bytes' },
  'opt-discard': { type: 'size', default: 0, help: 'Optimum discard alignment in bytes' },
  'max-discard': { type: 'size', default: 0, help: 'Maximum discard size in bytes' },
} as const satisfies OptionTable;

/** A config file longer than this is refused rather than read. */
export const CONFIG_MAX_BYTES = 1 << 20;
const INT_MAX = 0x7fffffff;

export interface BlkdebugState {
  readonly image: BlockDriverState;
  readonly engine: BlkdebugEngine;
  /** Request alignment (0: none of its own). */
  readonly align: number;
  readonly maxTransfer: number;
  readonly optWriteZero: number;
  readonly maxWriteZero: number;
  readonly optDiscard: number;
  readonly maxDiscard: number;
}

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'blkdebug', message });

function readConfig(filename: string | undefined): E.Either<BlockError, ConfigSection[]> {
  if (filename === undefined) return E.right([]);
  let text: string;
  try {
    const st = fs.statSync(filename);
    if (!st.isFile() || st.size > CONFIG_MAX_BYTES) return fail(`Could not read blkdebug config file: ${st.isFile() ? `larger than ${CONFIG_MAX_BYTES} bytes` : 'not a regular file'}`);
    text = fs.readFileSync(filename, 'utf8');
  } catch (err) {
    return fail(`Could not read blkdebug config file: ${systemErrorReason(err)}`);
  }
  const r = parseBlkdebugConfig(filename, text);
  return E.isLeft(r) ? fail(r.left) : r;
}

/** Split [offset, offset + bytes) into an unaligned head, aligned pieces of at most `max` (0: no limit) and an unaligned tail. */
function pieces(offset: number, bytes: number, align: number, max: number): [number, number][] {
  const out: [number, number][] = [];
  const end = offset + bytes;
  for (let pos = offset; pos < end; ) {
    let next: number;
    if (align > 1 && pos % align !== 0) next = Math.min(end, pos - (pos % align) + align);
    else {
      const alignedEnd = end - (end % align);
      next = alignedEnd > pos ? alignedEnd : end;
      if (max > 0) next = Math.min(next, pos + max);
    }
    out.push([pos, next - pos]);
    pos = next;
  }
  return out;
}

/** Run `io` on each piece that passes the rules; stops at the first error. */
function each(s: BlkdebugState, iotype: BlkdebugIoType, parts: [number, number][], acct: IoAcct, io: (off: number, n: number) => BlockIoError | null): BlockIoError | null {
  for (const [off, n] of parts) {
    const err = s.engine.check(iotype, off, n, acct) ?? io(off, n);
    if (err) return err;
  }
  return null;
}

export const blkdebugDriver: BlockDriver<BlkdebugState, typeof OPTIONS> = {
  formatName: 'blkdebug',
  options: OPTIONS,
  // FUA only if `image` honours it (file does not): else the generic layer follows a FUA
  // write with a flush of this node, which the rules see as iotype 'flush'.
  supportsFua: 'child',

  open(opts, ctx) {
    const sections = readConfig(opts.config);
    if (E.isLeft(sections)) return sections;
    const rules = buildRules(opts.config, sections.right, opts['inject-error'] ?? [], opts['set-state'] ?? []);
    if (E.isLeft(rules)) return fail(rules.left);
    return E.flatMap(ctx.openChild('image'), (image) => {
      const align = opts.align;
      if (align !== 0 && (align >= INT_MAX || (align & (align - 1)) !== 0)) return fail(`Cannot meet constraints with align ${align}`);
      const base = Math.max(align, image.requestAlignment);
      const check = (name: string, v: number, multiple: number): string | undefined =>
        v !== 0 && (v >= INT_MAX || v % multiple !== 0) ? `Cannot meet constraints with ${name} ${v}` : undefined;
      const bad =
        check('max-transfer', opts['max-transfer'], base) ??
        check('opt-write-zero', opts['opt-write-zero'], base) ??
        check('max-write-zero', opts['max-write-zero'], Math.max(opts['opt-write-zero'], base)) ??
        check('opt-discard', opts['opt-discard'], base) ??
        check('max-discard', opts['max-discard'], Math.max(opts['opt-discard'], base));
      if (bad) return fail(bad);
      const engine = new BlkdebugEngine(ctx.nodeName, rules.right, ctx.env.costs.ns('qemu.aio.completion-bh'));
      engine.event('none');
      return E.right({
        image,
        engine,
        align,
        maxTransfer: opts['max-transfer'],
        optWriteZero: opts['opt-write-zero'],
        maxWriteZero: opts['max-write-zero'],
        optDiscard: opts['opt-discard'],
        maxDiscard: opts['max-discard'],
      });
    });
  },

  requestAlignment(s) {
    return s.align || 1;
  },

  preadv(s, offset, buf, acct) {
    return each(s, 'read', pieces(offset, buf.length, 1, s.maxTransfer), acct, (off, n) => s.image.preadv(off, buf.subarray(off - offset, off - offset + n), acct));
  },

  pwritev(s, offset, data, flags, acct) {
    s.engine.event('pwritev');
    const err = each(s, 'write', pieces(offset, data.length, 1, s.maxTransfer), acct, (off, n) =>
      s.image.pwritev(off, data.subarray(off - offset, off - offset + n), flags, acct),
    );
    s.engine.event('pwritev_done');
    return err;
  },

  flush(s, acct) {
    return s.engine.check('flush', 0, 0, acct);
  },

  writeZeroes(s, offset, bytes, flags, acct) {
    s.engine.event('pwritev_zero');
    const align = Math.max(s.align, s.optWriteZero, 1);
    let err: BlockIoError | null = null;
    for (const [off, n] of pieces(offset, bytes, align, s.maxWriteZero)) {
      // A piece smaller than the alignment: blkdebug says ENOTSUP and the generic layer writes zeroes.
      err = n < align ? each(s, 'write', [[off, n]], acct, () => s.image.pwritev(off, new Uint8Array(n), flags, acct)) : each(s, 'write-zeroes', [[off, n]], acct, () => s.image.writeZeroes(off, n, flags, acct));
      if (err) break;
    }
    s.engine.event('pwritev_done');
    return err;
  },

  discard(s, offset, bytes, acct) {
    const align = Math.max(s.align, 1);
    const parts = pieces(offset, bytes, Math.max(s.optDiscard, 1), s.maxDiscard).filter(([, n]) => n >= align);
    return each(s, 'discard', parts, acct, (off, n) => s.image.discard(off, n, acct));
  },

  blockStatus(s, offset, bytes) {
    return { flags: BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID, pnum: bytes, map: offset, file: s.image };
  },

  truncate(s, size) {
    return s.image.truncate(size);
  },

  getLength(s) {
    return s.image.getLength();
  },

  debugEvent(s, event) {
    s.engine.event(event);
  },

  close() {},
};

registerBlockDriver(blkdebugDriver);

/** The blkdebug engine of node `bs`, if it is a blkdebug node (for tests and reports). */
export function blkdebugEngine(bs: BlockDriverState): BlkdebugEngine | undefined {
  return bs.drv === (blkdebugDriver as unknown) ? (bs.opaque as BlkdebugState).engine : undefined;
}
