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

export function startBlockJob(k: GuestKernel, blk: BlkMq, user: DmaAllocator, spec: BlockJobSpec, onFinish: (r: BlockJobResult) => void): void {
  const cpu = k.cpus[spec.cpu % k.cpus.length];
  const free: number[] = [];
  for (let i = 0; i < spec.iodepth; i++) {
    const a = user.alloc(spec.maxBytes, 4096);
    // A fixed, non-zero pattern per buffer, written once (fio's buffer fill).
    const pattern = new Uint8Array(spec.maxBytes);
    for (let j = 0; j < pattern.length; j += 4) pattern[j] = (j >> 2) ^ (i * 37) ^ 0x5a;
    k.mem.write(a, pattern);
    free.push(a);
  }
  let inflight = 0;
  let done = 0;
  let errors = 0;
  let exhausted = false;
  let wakeupPending = false;
  const completedQueue: { io: JobIo; status: BlkStatus; buf: number }[] = [];

  let submitPending = false;
  // The names of this job's two kinds of work, made once (they label every piece).
  const submitWhat = spec.name + ' submit';
  const reapWhat = spec.name + ' reap';
  const syscallNs = k.costs.ns('guest.syscall');
  const wakeupNs = k.costs.ns('guest.task.wakeup');

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
      const buf = free.pop()!;
      if (io.op === 'write') spec.hooks?.beforeWrite?.(io, buf);
      const blkIo: BlkIo = {
        op: io.op,
        sector: Math.floor(io.offset / 512),
        sectors: Math.floor(io.bytes / 512),
        sg: io.op === 'read' || io.op === 'write' ? [{ addr: buf, len: io.bytes }] : [],
        unmap: io.op === 'write-zeroes',
      };
      inflight++;
      k.sim.advance(syscallNs);
      blk.submit(cpu.index, [blkIo], (status: BlkStatus, _rq: BlkRequest) => {
        completedQueue.push({ io, status, buf });
        if (!wakeupPending) {
          wakeupPending = true;
          k.sim.advance(wakeupNs);
          cpu.schedule(reapWhat, reap);
        }
      });
  };

  const reap = (): void => {
    wakeupPending = false;
    k.sim.advance(syscallNs);
    for (const c of completedQueue.splice(0)) {
      inflight--;
      done++;
      if (c.status !== 'ok') errors++;
      spec.hooks?.completed?.(c.io, c.status, c.buf);
      free.push(c.buf);
    }
    if (exhausted && inflight === 0) onFinish({ name: spec.name, ios: done, errors, finishedAt: k.sim.now });
    else if (!submitPending) submitOne();
  };

  submitMore();
}
