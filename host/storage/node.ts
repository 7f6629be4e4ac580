/**
 * `BlockDriverState`: one node of the block graph and the generic layer around its driver
 * (QEMU's block/io.c). Every request to a node comes through here, which is what lets
 * driver code trust the guarantees written on `BlockDriver`:
 *
 * - ranges are checked (EINVAL for nonsense, EROFS on a read-only node); a read past the
 *   end reads zeroes there; a write past the end is EIO unless a parent holds the resize
 *   permission (`growable`, QEMU's BLK_PERM_RESIZE: qcow2 appends to its file), and then
 *   the node grows first;
 * - reads and writes are padded to the driver's request alignment (read-modify-write);
 * - FUA is emulated by a flush when the driver does not support it;
 * - flush follows QEMU's bdrv_co_flush: flush_to_os, then (unless cache.no-flush, and only
 *   if something was written since the last flush) flush_to_disk, then the children;
 * - the primary child (the first a driver opened: `file` of a format, the filtered child
 *   of a filter, QEMU's bdrv_primary_child) hears the debug events 'flush_to_os' and
 *   'flush_to_disk' before those steps;
 * - discard is dropped unless the node has discard=unmap; write-zeroes falls back to
 *   writing zero buffers;
 * - every operation a protocol node does is recorded as a `block` trace event, at the time
 *   it starts within its request and with the service time it took.
 *
 * A request runs through the graph synchronously; its modelled time accumulates in the
 * `IoAcct` it carries. Nothing here throws on bad input.
 */
import type { BlockIoError } from './block-backend-api.js';
import {
  BDRV_BLOCK_ALLOCATED,
  BDRV_BLOCK_DATA,
  BDRV_BLOCK_EOF,
  BDRV_BLOCK_OFFSET_VALID,
  BDRV_BLOCK_RAW,
  BDRV_BLOCK_ZERO,
  type AnyBlockDriver,
  type BlockEnv,
  type BlockStatus,
  type IoAcct,
  type NodeFlags,
  type WriteReqFlags,
  type ZeroReqFlags,
} from './driver.js';
import { ioError } from './errors.js';
import { gatherIoVec, type IoVec } from './iovec.js';
import type { BlkdebugEvent } from './image-api.js';

/** An edge of the graph: the parent's option name ('file', 'backing') and the child node. */
export interface BdrvChild {
  readonly name: string;
  readonly bs: BlockDriverState;
}

type BlockOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes';

/** What a driver without FUA support is passed for a FUA write (the flush follows it). */
const NO_FLAGS: WriteReqFlags = {};

/** Largest zero buffer the write-zeroes fallback writes at once. */
const ZERO_FALLBACK_MAX = 1 << 20;

const isRange = (offset: number, bytes: number): boolean =>
  Number.isSafeInteger(offset) && Number.isSafeInteger(bytes) && offset >= 0 && bytes >= 0 && Number.isSafeInteger(offset + bytes);

export class BlockDriverState {
  /** A parent may write past the end, growing this node (BLK_PERM_RESIZE). */
  growable = false;
  /**
   * QEMU's bs->filename: the host path a node's `filename` option names (file); a format
   * node has its `file` child's. Undefined when there is none (memory, null-co). Set by the graph.
   */
  filename: string | undefined = undefined;
  readonly requestAlignment: number;
  /** The driver honours FUA here (`supportsFua`, resolved through 'child'). */
  readonly supportsFua: boolean;
  private writeGen = 0;
  private flushedGen = 0;
  private closed = false;

  constructor(
    readonly nodeName: string,
    readonly drv: AnyBlockDriver,
    /** The driver's state (bs->opaque). */
    readonly opaque: unknown,
    readonly flags: NodeFlags,
    readonly children: readonly BdrvChild[],
    private readonly env: BlockEnv,
  ) {
    this.requestAlignment = drv.requestAlignment?.(opaque) ?? 1;
    this.supportsFua = drv.supportsFua === 'child' ? !!children[0]?.bs.supportsFua : !!drv.supportsFua;
  }

  get readOnly(): boolean {
    return this.flags.readOnly;
  }

  /** The child attached as `name`, if any. */
  child(name: string): BlockDriverState | undefined {
    return this.children.find((c) => c.name === name)?.bs;
  }

  getLength(): number {
    return this.drv.getLength(this.opaque);
  }

  /** Read `buf.length` bytes at `offset` into `buf`. */
  preadv(offset: number, buf: Uint8Array, acct: IoAcct): BlockIoError | null {
    if (!isRange(offset, buf.length)) return this.einval('read', offset, buf.length);
    const len = this.getLength();
    let n = buf.length;
    if (offset + n > len) {
      n = Math.max(0, len - offset);
      buf.fill(0, n);
    }
    if (n === 0) return null;
    const dst = n === buf.length ? buf : buf.subarray(0, n);
    if (!this.isAligned(offset, n)) {
      const [a0, a1] = this.padded(offset, n);
      const tmp = new Uint8Array(a1 - a0);
      const err = this.driverRead(a0, tmp, acct);
      if (!err) dst.set(tmp.subarray(offset - a0, offset - a0 + n));
      return err;
    }
    return this.driverRead(offset, dst, acct);
  }

  /** Write `data` at `offset`; with `fua`, durable before this returns. */
  pwritev(offset: number, data: Uint8Array, flags: WriteReqFlags, acct: IoAcct): BlockIoError | null {
    const bytes = data.length;
    const err = this.startWrite(offset, bytes);
    if (err) return err;
    if (bytes === 0) return null;
    let werr: BlockIoError | null;
    if (this.isAligned(offset, bytes)) {
      werr = this.driverWrite(offset, data, flags, acct);
    } else {
      const [a0, a1] = this.padded(offset, bytes);
      const tmp = new Uint8Array(a1 - a0);
      werr = this.driverRead(a0, tmp, acct);
      if (!werr) {
        tmp.set(data, offset - a0);
        werr = this.driverWrite(a0, tmp, flags, acct);
      }
    }
    return werr ?? this.fuaFlush(flags, acct);
  }

  /**
   * `pwritev` of the pieces of `data` in order: handed to the driver as they are when it
   * takes pieces and the request needs no padding, else gathered and written as one.
   */
  pwritevParts(offset: number, data: IoVec, flags: WriteReqFlags, acct: IoAcct): BlockIoError | null {
    const drv = this.drv;
    const bytes = data.bytes;
    if (drv.pwritevParts === undefined || bytes === 0 || !this.isAligned(offset, bytes)) return this.pwritev(offset, gatherIoVec(data), flags, acct);
    const err = this.startWrite(offset, bytes);
    if (err) return err;
    const before = acct.ns;
    const werr = this.traced('write', offset, bytes, before, acct, drv.pwritevParts(this.opaque, offset, data, this.driverFlags(flags), acct));
    return werr ?? this.fuaFlush(flags, acct);
  }

  /** bdrv_co_flush: this node, then its children. Each step is announced to the primary child first. */
  flush(acct: IoAcct): BlockIoError | null {
    const drv = this.drv;
    const primary = this.children[0]?.bs;
    primary?.debugEvent('flush_to_os');
    let err = drv.flushToOs?.(this.opaque, acct) ?? null;
    if (err) return err;
    const gen = this.writeGen;
    if (!this.flags.noFlush && gen !== this.flushedGen) {
      primary?.debugEvent('flush_to_disk');
      if (drv.flush) {
        const before = acct.ns;
        err = drv.flush(this.opaque, acct);
        this.traced('flush', 0, 0, before, acct, err);
      }
    }
    for (const c of this.children) {
      const cerr = c.bs.flush(acct);
      err ??= cerr;
    }
    if (!err) this.flushedGen = gen;
    return err;
  }

  /** pdiscard: dropped (successfully) unless discard=unmap. */
  discard(offset: number, bytes: number, acct: IoAcct): BlockIoError | null {
    const err = this.checkWrite('discard', offset, bytes);
    if (err) return err;
    const n = Math.min(bytes, this.getLength() - offset);
    if (n <= 0 || !this.flags.unmap || !this.drv.discard) return null;
    this.writeGen++;
    const before = acct.ns;
    return this.traced('discard', offset, n, before, acct, this.drv.discard(this.opaque, offset, n, acct));
  }

  /** pwrite_zeroes: the range reads as zeroes afterwards. */
  writeZeroes(offset: number, bytes: number, flags: ZeroReqFlags, acct: IoAcct): BlockIoError | null {
    const err = this.checkWrite('write-zeroes', offset, bytes) ?? this.growFor(offset + bytes);
    if (err || bytes === 0) return err;
    const drv = this.drv;
    if (!drv.writeZeroes) return this.zeroFallback(offset, bytes, flags, acct);
    this.writeGen++;
    const before = acct.ns;
    const zflags: ZeroReqFlags = { mayUnmap: !!flags.mayUnmap && this.flags.unmap, fua: flags.fua && this.supportsFua };
    const zerr = this.traced('write-zeroes', offset, bytes, before, acct, drv.writeZeroes(this.opaque, offset, bytes, zflags, acct));
    return zerr ?? this.fuaFlush(flags, acct);
  }

  /**
   * bdrv_co_block_status: the run at `offset` (following raw-style RAW answers into the
   * child). Out-of-range or empty queries report EOF with pnum 0.
   */
  blockStatus(offset: number, bytes: number): BlockStatus {
    const len = this.getLength();
    if (!isRange(offset, bytes) || offset >= len || bytes === 0) return { flags: BDRV_BLOCK_EOF, pnum: 0 };
    const n = Math.min(bytes, len - offset);
    const st =
      this.drv.blockStatus?.(this.opaque, offset, n) ??
      (this.drv.protocol
        ? { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum: n, map: offset, file: this }
        : { flags: BDRV_BLOCK_DATA, pnum: n });
    if (st.flags & BDRV_BLOCK_RAW && st.file && st.file !== this && st.map !== undefined) return st.file.blockStatus(st.map, st.pnum);
    return st.flags & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO) ? { ...st, flags: st.flags | BDRV_BLOCK_ALLOCATED } : st;
  }

  /** bdrv_co_truncate: resize the node. */
  truncate(size: number): BlockIoError | null {
    if (!Number.isSafeInteger(size) || size < 0) return ioError('EINVAL', `${this.nodeName}: bad size ${size}`);
    if (this.flags.readOnly) return ioError('EROFS', `${this.nodeName}: node is read-only`);
    if (!this.drv.truncate) return ioError('ENOTSUP', `${this.nodeName}: Image format driver does not support resize`);
    this.writeGen++;
    return this.drv.truncate(this.opaque, size);
  }

  /** bdrv_co_pwritev_compressed: store whole clusters compressed (qemu-img convert -c). */
  writeCompressed(offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
    const err = this.checkWrite('write', offset, data.length);
    if (err) return err;
    if (offset + data.length > this.getLength()) return ioError('EIO', `${this.nodeName}: compressed write up to ${offset + data.length} is beyond the end of the node`);
    if (!this.drv.writeCompressed) return ioError('ENOTSUP', 'Compression not supported for this file format');
    this.writeGen++;
    return this.drv.writeCompressed(this.opaque, offset, data, acct);
  }

  /** BLKDBG_EVENT: tell this node's driver what its parent does next (a blkdebug node may arm a failure). */
  debugEvent(event: BlkdebugEvent): void {
    this.drv.debugEvent?.(this.opaque, event);
  }

  /** Drop this node's volatile data (not its children's). */
  powerCut(): void {
    this.drv.powerCut?.(this.opaque);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drv.close(this.opaque);
  }

  /** A write's checks (range, read-only, growth) and, for one that moves bytes, the write generation a flush looks at. */
  private startWrite(offset: number, bytes: number): BlockIoError | null {
    const err = this.checkWrite('write', offset, bytes) ?? this.growFor(offset + bytes);
    if (err === null && bytes > 0) this.writeGen++;
    return err;
  }

  private checkWrite(op: BlockOp, offset: number, bytes: number): BlockIoError | null {
    if (!isRange(offset, bytes)) return this.einval(op, offset, bytes);
    if (this.flags.readOnly) return ioError('EROFS', `${this.nodeName}: ${op} on a read-only node`);
    return null;
  }

  /** A write ending at `end`: fine within the node; past it, grow if a parent may, else EIO. */
  private growFor(end: number): BlockIoError | null {
    const len = this.getLength();
    if (end <= len) return null;
    if (!this.growable) return ioError('EIO', `${this.nodeName}: write up to ${end} is beyond the end of the node (${len} bytes)`);
    return this.truncate(end);
  }

  private fuaFlush(flags: WriteReqFlags, acct: IoAcct): BlockIoError | null {
    return flags.fua && !this.supportsFua ? this.flush(acct) : null;
  }

  private zeroFallback(offset: number, bytes: number, flags: ZeroReqFlags, acct: IoAcct): BlockIoError | null {
    const zero = new Uint8Array(Math.min(bytes, ZERO_FALLBACK_MAX));
    for (let done = 0; done < bytes; done += zero.length) {
      const n = Math.min(zero.length, bytes - done);
      const err = this.pwritev(offset + done, n === zero.length ? zero : zero.subarray(0, n), {}, acct);
      if (err) return err;
    }
    return this.fuaFlush(flags, acct);
  }

  /** Aligned for the driver: start on a boundary, and end on one or at the end of the node. */
  private isAligned(offset: number, bytes: number): boolean {
    const a = this.requestAlignment;
    return a === 1 || (offset % a === 0 && ((offset + bytes) % a === 0 || offset + bytes === this.getLength()));
  }

  private padded(offset: number, bytes: number): [number, number] {
    const a = this.requestAlignment;
    return [offset - (offset % a), Math.min(Math.ceil((offset + bytes) / a) * a, this.getLength())];
  }

  private driverRead(offset: number, buf: Uint8Array, acct: IoAcct): BlockIoError | null {
    const before = acct.ns;
    return this.traced('read', offset, buf.length, before, acct, this.drv.preadv(this.opaque, offset, buf, acct));
  }

  private driverWrite(offset: number, data: Uint8Array, flags: WriteReqFlags, acct: IoAcct): BlockIoError | null {
    const before = acct.ns;
    return this.traced('write', offset, data.length, before, acct, this.drv.pwritev(this.opaque, offset, data, this.driverFlags(flags), acct));
  }

  /** What the driver is passed: FUA only where it supports it (fuaFlush emulates it elsewhere). */
  private driverFlags(flags: WriteReqFlags): WriteReqFlags {
    return flags.fua && !this.supportsFua ? NO_FLAGS : flags;
  }

  /** Record a protocol node's I/O in the trace; returns `err`. */
  private traced(op: BlockOp, offset: number, bytes: number, before: number, acct: IoAcct, err: BlockIoError | null): BlockIoError | null {
    const trace = this.env.trace;
    if (this.drv.protocol && trace.wants.block) {
      const t = this.env.sim.now + before;
      trace.emit({ kind: 'block', t, node: this.nodeName, op, offset, bytes, latencyNs: acct.ns - before, ok: err === null });
    }
    return err;
  }

  private einval(op: BlockOp, offset: number, bytes: number): BlockIoError {
    return ioError('EINVAL', `${this.nodeName}: ${op} of ${bytes} bytes at offset ${offset} is not a valid range`);
  }
}

/** Every node reachable from `root`, parents before children, each once. */
export function subtree(root: BlockDriverState): BlockDriverState[] {
  const seen = new Set<BlockDriverState>();
  const out: BlockDriverState[] = [];
  const visit = (bs: BlockDriverState): void => {
    if (seen.has(bs)) return;
    seen.add(bs);
    out.push(bs);
    for (const c of bs.children) visit(c.bs);
  };
  visit(root);
  return out;
}
