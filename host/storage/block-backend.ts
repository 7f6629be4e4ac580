/**
 * `BlockBackend`: what a device model holds of its drive (QEMU's block/block-backend.c),
 * the implementation of `BlockBackendApi` over the root node of a graph.
 *
 * A request runs through the graph at once (the nodes are synchronous within the model)
 * and completes later on the simulation's clock, never inline:
 *
 *   completion = submission + wait for a device slot + 'qemu.block.layer'
 *                + the service time the protocol nodes charged (see each driver)
 *
 * Concurrency: by default requests are served in parallel, each taking its own latency
 * (an NVMe-class device with a deep queue). `queueDepth` limits how many are in service
 * at once; a request that finds every slot busy waits for the earliest one to free.
 * Data takes effect in submission order, and reads see it at submission: a valid
 * ordering of overlapping requests in flight together.
 *
 * With cache.writeback=off every write and write-zeroes carries FUA (blk_co_pwritev's
 * `!blk->enable_write_cache`), so it is durable when it completes. `powerCut` drops the
 * volatile data of every node below and forgets the requests in flight: their callbacks
 * never run. A request in flight has already taken effect (at submission), so after the
 * cut it is kept if it was made durable (FUA, or a flush submitted after it) and lost
 * otherwise: one of the outcomes a real crash allows.
 */
import { DRIVE_ON_ERROR_DEFAULT, type BlockBackendApi, type BlockCallback, type BlockdevOnError, type BlockIoError, type WriteFlags } from './block-backend-api.js';
import type { BlockEnv, IoAcct, WriteReqFlags } from './driver.js';
import { ioError } from './errors.js';
import { subtree, type BlockDriverState } from './node.js';
import type { IoVec } from './iovec.js';
import { SlabAllocator } from './slab.js';

const FUA: WriteReqFlags = { fua: true };
const CACHED: WriteReqFlags = { fua: false };

/** Where read buffers come from (see slab.ts). */
const readBuffers = new SlabAllocator();

export interface BackendOptions {
  /** The backend's own name (the -drive id); defaults to the root's node name. */
  readonly id?: string;
  /** cache.writeback: the guest sees a volatile write cache. Default on. */
  readonly writeback?: boolean;
  /** The device may only read (a read-only drive over a writable node). */
  readonly readOnly?: boolean;
  /** Requests in service at once; default unlimited (each is served in parallel). */
  readonly queueDepth?: number;
  /** -drive rerror= and werror=: defaults report and enospc. */
  readonly rerror?: BlockdevOnError;
  readonly werror?: BlockdevOnError;
}

/** A completed request waiting for its modelled time to pass. */
interface PendingDone {
  epoch: number;
  err: BlockIoError | null;
  value: unknown;
  cb: BlockCallback<unknown> | undefined;
  /** Made once per record: what the clock calls. */
  readonly fire: () => void;
}

const SPARE_DONE_MAX = 256;

export class BlockBackend implements BlockBackendApi {
  readonly name: string;
  readonly id: string;
  private wce: boolean;
  /** The cache mode the drive was opened with (-drive cache=, -device write-cache=). */
  private readonly configuredWce: boolean;
  private readonly backendReadOnly: boolean;
  private readonly rerror: BlockdevOnError;
  private readonly werror: BlockdevOnError;
  private readonly layerNs: number;
  /** Per device slot, the virtual time it is next free (only with a queue depth). */
  private readonly slots: number[] | undefined;
  private slot = 0;
  /** Bumped by a power cut; completions of an older epoch are dropped. */
  private epoch = 0;
  private inflight = 0;
  /** Completion records done with, reused (no closure per request). */
  private readonly spareDone: PendingDone[] = [];

  constructor(
    readonly root: BlockDriverState,
    private readonly env: BlockEnv,
    opts: BackendOptions = {},
  ) {
    this.name = root.nodeName;
    this.id = opts.id ?? root.nodeName;
    this.wce = this.configuredWce = opts.writeback ?? true;
    this.backendReadOnly = !!opts.readOnly;
    this.rerror = opts.rerror ?? DRIVE_ON_ERROR_DEFAULT.read;
    this.werror = opts.werror ?? DRIVE_ON_ERROR_DEFAULT.write;
    this.layerNs = env.costs.ns('qemu.block.layer');
    const qd = opts.queueDepth;
    this.slots = qd !== undefined && Number.isFinite(qd) ? new Array<number>(Math.max(1, Math.floor(qd))).fill(0) : undefined;
  }

  onError(isRead: boolean): BlockdevOnError {
    return isRead ? this.rerror : this.werror;
  }

  get writeCacheEnabled(): boolean {
    return this.wce;
  }

  /** blk_set_enable_write_cache: the guest toggled the write cache (virtio-blk WCE, SCSI mode page). */
  setWriteCacheEnabled(on: boolean): void {
    this.wce = on;
  }

  get readOnly(): boolean {
    return this.backendReadOnly || this.root.readOnly;
  }

  /** Requests submitted and not yet completed. */
  get inFlight(): number {
    return this.inflight;
  }

  length(): number {
    return this.root.getLength();
  }

  read(offset: number, bytes: number, cb: BlockCallback<Uint8Array>): void {
    const acct = this.begin();
    let err = this.check(offset, bytes, false);
    let buf: Uint8Array | undefined;
    if (!err) {
      buf = readBuffers.alloc(bytes);
      err = this.root.preadv(offset, buf, acct);
    }
    this.complete(acct, err, err ? undefined : buf, cb);
  }

  write(offset: number, data: Uint8Array, flags: WriteFlags, cb: BlockCallback): void {
    const acct = this.begin();
    const err = this.check(offset, data.length, true) ?? this.root.pwritev(offset, data, this.reqFlags(flags), acct);
    this.complete(acct, err, undefined, cb);
  }

  writev(offset: number, data: IoVec, flags: WriteFlags, cb: BlockCallback): void {
    const acct = this.begin();
    const err = this.check(offset, data.bytes, true) ?? this.root.pwritevParts(offset, data, this.reqFlags(flags), acct);
    this.complete(acct, err, undefined, cb);
  }

  flush(cb: BlockCallback): void {
    const acct = this.begin();
    this.complete(acct, this.root.flush(acct), undefined, cb);
  }

  discard(offset: number, bytes: number, cb: BlockCallback): void {
    const acct = this.begin();
    const err = this.check(offset, bytes, true) ?? this.root.discard(offset, bytes, acct);
    this.complete(acct, err, undefined, cb);
  }

  writeZeroes(offset: number, bytes: number, flags: { mayUnmap: boolean }, cb: BlockCallback): void {
    const acct = this.begin();
    const err = this.check(offset, bytes, true) ?? this.root.writeZeroes(offset, bytes, { mayUnmap: flags.mayUnmap, fua: !this.wce }, acct);
    this.complete(acct, err, undefined, cb);
  }

  /** The host loses power: volatile data below this backend is gone, requests in flight never complete. */
  powerCut(): void {
    for (const bs of subtree(this.root)) bs.powerCut();
    this.lostPower();
  }

  /**
   * What a power cut does to the backend itself (the graph calls this for each of its
   * backends): the requests in flight are forgotten (their callbacks will not run), and the
   * write cache is the drive's configured one again — the next QEMU process opens the drive
   * afresh, whatever a guest had set.
   */
  lostPower(): void {
    this.epoch++;
    this.inflight = 0;
    this.wce = this.configuredWce;
  }

  /** A write's flags below the backend: FUA when asked or when the guest sees no write cache (blk_co_pwritev_part). */
  private reqFlags(flags: WriteFlags): WriteReqFlags {
    return flags.fua || !this.wce ? FUA : CACHED;
  }

  /** blk_check_byte_request: EINVAL for a malformed range, EIO past the end, EROFS for writes to a read-only drive. */
  private check(offset: number, bytes: number, write: boolean): BlockIoError | null {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(bytes) || offset < 0 || bytes < 0) {
      return ioError('EINVAL', `${this.id}: invalid request of ${bytes} bytes at offset ${offset}`);
    }
    const len = this.root.getLength();
    if (offset > len || len - offset < bytes) {
      return ioError('EIO', `${this.id}: request of ${bytes} bytes at offset ${offset} is beyond the end of the device (${len} bytes)`);
    }
    if (write && this.readOnly) return ioError('EROFS', `${this.id}: the drive is read-only`);
    return null;
  }

  /** Start a request: wait for a device slot if the queue depth is limited, then the block layer's own cost. */
  private begin(): IoAcct {
    const slots = this.slots;
    if (!slots) return { ns: this.layerNs };
    let best = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i] < slots[best]) best = i;
    this.slot = best;
    return { ns: Math.max(0, slots[best] - this.env.sim.now) + this.layerNs };
  }

  private complete<T>(acct: IoAcct, err: BlockIoError | null, value: T | undefined, cb: BlockCallback<T>): void {
    const sim = this.env.sim;
    if (this.slots) this.slots[this.slot] = sim.now + acct.ns;
    const d = this.spareDone.pop() ?? this.newDone();
    d.epoch = this.epoch;
    d.err = err;
    d.value = value;
    d.cb = cb as BlockCallback<unknown>;
    this.inflight++;
    sim.postAfter(acct.ns, d.fire);
  }

  private newDone(): PendingDone {
    const d: PendingDone = { epoch: 0, err: null, value: undefined, cb: undefined, fire: () => this.fired(d) };
    return d;
  }

  /** A request's modelled time is up: call back, unless a power cut came in between. The record is reused. */
  private fired(d: PendingDone): void {
    const { epoch, err, value, cb } = d;
    d.err = null;
    d.value = undefined;
    d.cb = undefined;
    if (this.spareDone.length < SPARE_DONE_MAX) this.spareDone.push(d);
    if (epoch !== this.epoch) return;
    this.inflight--;
    cb!(err, value);
  }
}
