/**
 * A fio job's process doing O_DIRECT, asynchronous I/O on a block device
 * (ioengine=libaio, direct=1): it runs on one guest CPU, keeps up to `iodepth` I/Os in
 * flight, submits each I/O with its own io_submit (fio's default iodepth_batch_submit=1),
 * sleeps until a completion wakes it, reaps what completed (io_getevents) and refills.
 * Its buffers are allocated once and, like fio without refill_buffers, filled once.
 */
import type { GuestKernel } from '../guest/kernel/kernel.js';
import type { BlkMq } from '../guest/blockdev/blk-mq.js';
import type { BlkIo, BlkRequest, BlkStatus } from '../guest/blockdev/request.js';
import type { DmaAllocator } from '../guest/kernel/dma-alloc.js';
import type { SgElem } from '../hw/memory.js';

export interface JobIo {
  op: 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes';
  offset: number;
  bytes: number;
}

export interface BlockJobHooks {
  /** Fill a write's buffer before it is submitted (default: the buffer's fixed pattern). */
  beforeWrite?(io: JobIo, bufAddr: number): void;
  /** Inspect a completed I/O (a read's data is in the buffer). */
  completed?(io: JobIo, status: BlkStatus, bufAddr: number): void;
}

export interface BlockJobSpec {
  name: string;
  cpu: number;
  iodepth: number;
  /** Largest I/O the job issues (buffer size). */
  maxBytes: number;
  ios: Iterator<JobIo>;
  hooks?: BlockJobHooks;
}

export interface BlockJobResult {
  name: string;
  ios: number;
  errors: number;
  finishedAt: number;
}

/**
 * One buffer and what rides with it while its I/O is in flight (a fio io_u): the request
 * the block layer is handed, its one data segment, and the completion callback, all made
 * once per buffer and reused for every I/O the buffer carries.
 */
interface Slot {
  readonly buf: number;
  readonly sg: SgElem[];
  readonly blkIo: BlkIo;
  /** `[blkIo]`: the one-request batch io_submit hands the block layer. */
  readonly batch: readonly BlkIo[];
  io: JobIo | undefined;
  status: BlkStatus;
  readonly done: (status: BlkStatus, rq: BlkRequest) => void;
}

const NO_SG: SgElem[] = [];

export function startBlockJob(k: GuestKernel, blk: BlkMq, user: DmaAllocator, spec: BlockJobSpec, onFinish: (r: BlockJobResult) => void): void {
  const cpu = k.cpus[spec.cpu % k.cpus.length];
  const free: Slot[] = [];
  let inflight = 0;
  let done = 0;
  let errors = 0;
  let exhausted = false;
  let wakeupPending = false;
  // Completed slots waiting for the reap; `spareQueue` is the other of the two lists it swaps between.
  let completedQueue: Slot[] = [];
  let spareQueue: Slot[] = [];

  let submitPending = false;
  // The names of this job's two kinds of work, made once (they label every piece).
  const submitWhat = spec.name + ' submit';
  const reapWhat = spec.name + ' reap';
  const syscallNs = k.costs.ns('guest.syscall');
  const wakeupNs = k.costs.ns('guest.task.wakeup');

  const newSlot = (buf: number): Slot => {
    const blkIo: BlkIo = { op: 'write', sector: 0, sectors: 0, sg: NO_SG, unmap: false };
    const slot: Slot = {
      buf,
      sg: [{ addr: buf, len: 0 }],
      blkIo,
      batch: [blkIo],
      io: undefined,
      status: 'ok',
      done: (status: BlkStatus) => {
        slot.status = status;
        completedQueue.push(slot);
        if (!wakeupPending) {
          wakeupPending = true;
          k.sim.advance(wakeupNs);
          cpu.schedule(reapWhat, reap);
        }
      },
    };
    return slot;
  };

  for (let i = 0; i < spec.iodepth; i++) {
    const a = user.alloc(spec.maxBytes, 4096);
    // A fixed, non-zero pattern per buffer, written once (fio's buffer fill).
    const pattern = new Uint8Array(spec.maxBytes);
    for (let j = 0; j < pattern.length; j += 4) pattern[j] = (j >> 2) ^ (i * 37) ^ 0x5a;
    k.mem.write(a, pattern);
    free.push(newSlot(a));
  }

  /**
   * One io_submit of one I/O; the next one is a separate system call, run as its own
   * piece of work on the CPU so that what the device sees of the ring is never ahead of
   * what the guest has written by then in virtual time.
   */
  const submitOne = (): void => {
    submitPending = false;
    if (inflight < spec.iodepth && !exhausted) {
      const n = spec.ios.next();
      if (n.done) exhausted = true;
      else submit(n.value);
    }
    if (inflight < spec.iodepth && !exhausted) submitMore();
    else if (exhausted && inflight === 0) onFinish({ name: spec.name, ios: done, errors, finishedAt: k.sim.now });
  };

  const submitMore = (): void => {
    if (submitPending) return;
    submitPending = true;
    cpu.schedule(submitWhat, submitOne);
  };

  const submit = (io: JobIo): void => {
    const slot = free.pop()!;
    if (io.op === 'write') spec.hooks?.beforeWrite?.(io, slot.buf);
    slot.io = io;
    const blkIo = slot.blkIo;
    blkIo.op = io.op;
    blkIo.sector = Math.floor(io.offset / 512);
    blkIo.sectors = Math.floor(io.bytes / 512);
    if (io.op === 'read' || io.op === 'write') {
      slot.sg[0].len = io.bytes;
      blkIo.sg = slot.sg;
    } else blkIo.sg = NO_SG;
    blkIo.unmap = io.op === 'write-zeroes';
    inflight++;
    k.sim.advance(syscallNs);
    blk.submit(cpu.index, slot.batch, slot.done);
  };

  const reap = (): void => {
    wakeupPending = false;
    k.sim.advance(syscallNs);
    // What completed before this reap; what completes during it waits for the next one.
    const batch = completedQueue;
    completedQueue = spareQueue;
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i];
      inflight--;
      done++;
      if (c.status !== 'ok') errors++;
      const io = c.io!;
      c.io = undefined;
      spec.hooks?.completed?.(io, c.status, c.buf);
      free.push(c);
    }
    while (batch.length > 0) batch.pop(); // (cheaper than setting length, for a list this short)
    spareQueue = batch;
    if (exhausted && inflight === 0) onFinish({ name: spec.name, ios: done, errors, finishedAt: k.sim.now });
    else if (!submitPending) submitOne();
  };

  submitMore();
}
