/**
 * Completing requests (QEMU's virtio_blk_req_complete and the aio callbacks that lead to
 * it): write the status byte, push the element with every device-writable byte as the
 * used length, and notify.
 *
 * Backend callbacks arrive on the simulation clock, on no context; they are queued and
 * handled by one piece of work on the device's context, however many arrive before it
 * runs (as one event-loop iteration handles every completion that is ready).
 *
 * Notification: in an iothread QEMU defers virtio_notify_irqfd() with defer_call(), so one
 * handler run or completion batch signals each queue once (`batchNotify`); on the main
 * loop virtio_notify() runs once per request. The queue's notify() still decides (flags,
 * used_event) whether that becomes an interrupt.
 *
 * A reset bumps the generation: anything older is dropped before it touches guest memory.
 */
import { dmaScatter } from '../../../hw/memory.js';
import { VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, blkStatusName } from '../../../hw/virtio/blk.js';
import { blockErrorAction } from '../block-error.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import type { DeviceVirtqueue } from '../virtio/types.js';
import { isBlkRead, type BlkReq } from './request.js';
import type { BlkState } from './state.js';

/** One backend request's outcome: the requests it carried (several when merged). */
export interface Completion {
  readonly reqs: readonly BlkReq[];
  readonly err: BlockIoError | null;
  /** Read data, split over `reqs` in order; null for everything but reads. */
  readonly data: Uint8Array | null;
}

/**
 * A backend request in flight: the device's requests it carries and the callback the
 * backend calls, made once and reused (no closure or record per request).
 */
export interface BackendIo extends Completion {
  readonly reqs: BlkReq[];
  err: BlockIoError | null;
  data: Uint8Array | null;
  /** The backend's callback for this request (any of read, write, flush, discard, write-zeroes). */
  readonly cb: (err: BlockIoError | null, data?: Uint8Array | void) => void;
}

/** Spare BackendIo records kept (more than a queue's worth are rarely in flight at once). */
const SPARE_IO_MAX = 256;

export class Completer {
  private pending: BackendIo[] = [];
  private sparePending: BackendIo[] = [];
  private readonly spareIos: BackendIo[] = [];
  private scheduled = false;
  private depth = 0;
  private dirty: DeviceVirtqueue[] = [];
  private spareDirty: DeviceVirtqueue[] = [];
  private s!: BlkState;
  private readonly drainFn = (): void => this.drain();

  constructor(private readonly batchNotify: boolean) {}

  attach(s: BlkState): void {
    this.s = s;
  }

  /**
   * A record for one backend request carrying `reqs` (filled by the caller when not given):
   * pass its `cb` to the backend. It is reused once its completion has been handled.
   */
  io(req?: BlkReq): BackendIo {
    const c = this.spareIos.pop() ?? this.newIo();
    if (req !== undefined) c.reqs.push(req);
    return c;
  }

  private newIo(): BackendIo {
    const c: BackendIo = {
      reqs: [],
      err: null,
      data: null,
      cb: (err, data) => {
        c.err = err;
        c.data = data ?? null;
        this.backendDone(c);
      },
    };
    return c;
  }

  private recycle(c: BackendIo): void {
    // Emptied by pops: setting length is a runtime call, and this runs once per request.
    const reqs = c.reqs;
    while (reqs.length > 0) reqs.pop();
    c.err = null;
    c.data = null;
    if (this.spareIos.length < SPARE_IO_MAX) this.spareIos.push(c);
  }

  /** A backend callback. Stale ones (from before a reset) are dropped here. */
  private backendDone(c: BackendIo): void {
    const s = this.s;
    if (c.reqs[0].gen !== s.gen) return this.recycle(c);
    s.inFlight -= c.reqs.length;
    this.pending.push(c);
    if (!this.scheduled) {
      this.scheduled = true;
      s.context.run('virtio-blk complete', this.drainFn);
    }
  }

  /** Open a batch: notifications wait for the matching end() when batching. */
  begin(): void {
    this.depth++;
  }

  end(): void {
    if (--this.depth > 0 || this.dirty.length === 0) return;
    // Swap in the spare list rather than allocating one (a notify may dirty a queue again).
    const d = this.dirty;
    this.dirty = this.spareDirty;
    for (let i = 0; i < d.length; i++) d[i].notify();
    d.length = 0;
    this.spareDirty = d;
  }

  /** virtio_blk_req_complete(): status byte, used entry, notification. Runs on the device context. */
  complete(req: BlkReq, status: number): void {
    const s = this.s;
    s.sim.advance(s.completeNs);
    if (req.gen !== s.gen) return;
    const vq = req.vq;
    vq.mem.write8(req.statusAddr, status);
    if (s.trace.wants['device-complete']) {
      s.trace.emit({ kind: 'device-complete', t: s.sim.now, dev: s.devName, vq: vq.index, head: req.elem.head, status: blkStatusName(status) });
    }
    // virtqueue_fill() on a broken device writes nothing to the ring.
    if (s.broken) return;
    vq.push(req.elem, req.inLen);
    if (this.batchNotify && this.depth > 0) {
      if (!this.dirty.includes(vq)) this.dirty.push(vq);
    } else vq.notify();
  }

  /** Drop everything queued, stopped requests included (device reset). */
  reset(): void {
    this.pending = [];
    this.dirty = [];
    this.s.stopped = [];
  }

  private drain(): void {
    this.scheduled = false;
    // Swap in the spare list rather than allocating one (completions may arrive while these finish).
    const list = this.pending;
    this.pending = this.sparePending;
    this.begin();
    for (let i = 0; i < list.length; i++) {
      this.finish(list[i]);
      this.recycle(list[i]);
    }
    list.length = 0;
    this.sparePending = list;
    this.end();
  }

  private finish(c: Completion): void {
    const s = this.s;
    const reqs = c.reqs;
    if (reqs[0].gen !== s.gen) return;
    if (c.err === null && c.data !== null) {
      let off = 0;
      for (let i = 0; i < reqs.length; i++) {
        const r = reqs[i];
        dmaScatter(r.vq.mem, r.sg, c.data.subarray(off, off + r.bytes));
        off += r.bytes;
      }
      if (off > 0) s.sim.advance(s.copyByteNs * off);
    }
    if (c.err === null) {
      for (let i = 0; i < reqs.length; i++) this.complete(reqs[i], VIRTIO_BLK_S_OK);
      return;
    }
    for (let i = 0; i < reqs.length; i++) this.failed(reqs[i], c.err);
  }

  /**
   * virtio_blk_handle_rw_error: the policy decides (block-error.ts). A stopped request
   * waits in `s.stopped` for resume(); an ignored one completes as if it had worked.
   */
  private failed(req: BlkReq, err: BlockIoError): void {
    const s = this.s;
    const isRead = isBlkRead(req.type);
    const action = blockErrorAction(s.errorSite, isRead, err);
    if (action === 'stop') s.stopped.unshift(req);
    else this.complete(req, action === 'ignore' ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
  }
}
