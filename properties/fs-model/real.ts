/**
 * The system under test of the file-system suites: a booted VM whose disk (/dev/vda, or
 * /dev/sda behind virtio-scsi) carries an ext3 file system mounted at /mnt, one guest process making the calls, and the real
 * descriptors behind the model's handles. A call runs the simulation until it returns;
 * `callUntil` stops the clock at an instant instead (the crash suite's power cut).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../guest/kernel/task.js';
import type { Errno, GuestOsApi, Sys, UserBuf } from '../../guest/vfs/syscalls-api.js';
import { guestOs } from '../../report/file-experiment.js';
import type { Machine } from '../../vm/machine.js';
import { startProc } from '../../workload/proc.js';
import { mountFs, type MountSpec } from '../../workload/run-file-jobs.js';
import { boot } from '../support/vm.js';
import { ROOT } from './model.js';

export const MOUNT: MountSpec = { device: '/dev/vda', dir: ROOT, mkfs: true };

/** Thrown by a call or a sleep when the power-cut instant comes first (the crash suite catches it). */
export class PowerCut extends Error {
  constructor(
    readonly at: number,
    readonly during: string,
  ) {
    super(`power cut at ${at} ns, during ${during}`);
  }
}

export class FsReal {
  /** Real descriptors, parallel to the model's handles. */
  readonly fds: number[] = [];
  /** When set, the virtual instant of a power cut: a call or sleep that reaches it throws `PowerCut`. */
  cutAt: number | undefined;
  /** Or: cut `delayNs` after the `call`th call starts (counting from 1). */
  cutAfterCall: { call: number; delayNs: number } | undefined;
  private calls = 0;
  private buffer: UserBuf | undefined;

  constructor(
    readonly m: Machine,
    readonly os: GuestOsApi,
    readonly task: Task,
    /** The block device the file system is on. */
    readonly device = MOUNT.device,
  ) {}

  get sys() {
    return this.os.syscalls;
  }

  /** A user buffer of `len` bytes holding `data` (or for reading into). */
  buf(len: number, data?: Uint8Array): UserBuf {
    if (!this.buffer || this.buffer.len < len) {
      if (this.buffer) this.os.freeUser(this.buffer);
      this.buffer = this.os.allocUser(Math.max(len, 64 * 1024));
    }
    if (data) this.m.mem.write(this.buffer.addr, data);
    return { addr: this.buffer.addr, len };
  }

  /** What a read left in the buffer. */
  bytes(n: number): Uint8Array {
    return this.buffer ? Uint8Array.from(this.m.mem.read(this.buffer.addr, n)) : new Uint8Array(0);
  }

  /** Make the call and run the clock until it returns (or the power-cut instant comes). */
  call<T>(o: Sys<T>, what: string): E.Either<Errno, T> {
    if (++this.calls === this.cutAfterCall?.call) this.cutAt = Math.min(this.cutAt ?? Infinity, this.m.sim.now + this.cutAfterCall.delayNs);
    const r = this.callUntil(o, this.cutAt ?? Infinity);
    if (r !== 'cut') return r;
    if (this.cutAt !== undefined && this.m.sim.now >= this.cutAt) throw new PowerCut(this.m.sim.now, what);
    throw new Error(`${what}: never returned (virtual time ${this.m.sim.now} ns)`);
  }

  /** Make the call and run the clock until it returns or virtual time `until` comes first. */
  callUntil<T>(o: Sys<T>, until: number): E.Either<Errno, T> | 'cut' {
    let got: E.Either<Errno, T> | undefined;
    o.subscribe((v) => (got = v));
    this.m.sim.run({ stop: () => got !== undefined, until: Number.isFinite(until) ? until : undefined });
    return got ?? 'cut';
  }

  /** Let `ns` of virtual time pass (the process sleeps); `PowerCut` if the cut instant comes first. */
  sleep(ns: number): void {
    const end = this.m.sim.now + ns;
    const t = Math.min(end, this.cutAt ?? Infinity);
    this.m.sim.at(t, () => undefined);
    this.m.sim.run({ until: t });
    if (this.cutAt !== undefined && t < end) throw new PowerCut(t, `sleep(${ns / 1e6} ms)`);
  }
}

/** Boot a VM from QEMU arguments, mkfs.ext3 `device` (unless `mkfs` is false) and mount it at /mnt. */
export function bootFs(args: readonly string[], seed: number, mkfs = true, device = MOUNT.device): FsReal {
  const m = boot(args, { seed });
  const os = guestOs(m);
  if (E.isLeft(os)) throw new Error(os.left);
  const r = new FsReal(m, os.right, os.right.spawn('fs-model', 0), device);
  mountOn(r, mkfs);
  return r;
}

/** mkfs (when asked) and mount /mnt, as the suite's process. */
export function mountOn(r: FsReal, mkfs: boolean): void {
  let res: E.Either<string, void> | undefined;
  startProc(r.m.sim, mountFs(r.os, r.task, { ...MOUNT, device: r.device, mkfs }), (x) => (res = x));
  r.m.sim.run({ stop: () => res !== undefined });
  if (res === undefined || E.isLeft(res)) throw new Error(`mount: ${res === undefined ? 'never finished' : res.left}`);
}
