/**
 * A clock that stops: the guest's time, which does not run while the VM is stopped.
 *
 * KVM guests keep time with kvmclock, and QEMU saves its value when the VM stops and
 * restores it when the VM continues (hw/i386/kvm/clock.c kvmclock_vm_state_change), so the
 * guest sees no time pass while it was stopped: a SCSI command's 30-second timeout, a
 * writeback deadline or a journal commit interval does not expire because the management
 * layer paused the VM for a minute. `PausableClock` is that time: `now` is the simulator's
 * time less every stopped span, and timers armed on it (`after`) count only running time —
 * a timer due while the clock is stopped fires that much later after `resume()`.
 *
 * Host-side models keep using the simulator itself; trace events carry the simulator's
 * (host) time.
 */
import type { Simulator, Timer } from './simulator.js';

/** What `virtualScheduler` and timer users need of a clock. */
export interface Clock {
  /** Nanoseconds. */
  readonly now: number;
  /** Run `fn` after `delayNs` of this clock's time. */
  after(delayNs: number, fn: () => void): Timer;
}

/** A timer on a pausable clock: its deadline in clock time and, while running, the simulator timer. */
class ClockTimer implements Timer {
  sim: Timer | undefined;
  done = false;
  constructor(
    private readonly clock: PausableClock,
    readonly deadline: number,
    readonly fn: () => void,
  ) {}

  /** The simulator time it fires at (or, while the clock is stopped, the deadline in clock time). */
  get time(): number {
    return this.sim?.time ?? this.deadline;
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.sim?.cancel();
    this.sim = undefined;
    this.clock.forget(this);
  }

  fire(): void {
    this.sim = undefined;
    if (this.done) return;
    this.done = true;
    this.clock.forget(this);
    this.fn();
  }
}

export class PausableClock implements Clock {
  /** Simulator time spent stopped, up to the last resume. */
  private stoppedNs = 0;
  /** Simulator time at which the clock stopped; undefined while it runs. */
  private stoppedAt: number | undefined;
  /** Timers not yet fired or cancelled. */
  private readonly live = new Set<ClockTimer>();

  constructor(private readonly sim: Simulator) {}

  get now(): number {
    return (this.stoppedAt ?? this.sim.now) - this.stoppedNs;
  }

  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  /** Total simulator time this clock has been stopped, the current stop included. */
  get stoppedTotalNs(): number {
    return this.stoppedNs + (this.stoppedAt === undefined ? 0 : this.sim.now - this.stoppedAt);
  }

  after(delayNs: number, fn: () => void): Timer {
    const t = new ClockTimer(this, this.now + Math.max(0, delayNs), fn);
    this.live.add(t);
    if (this.stoppedAt === undefined) this.arm(t);
    return t;
  }

  /** Stop the clock: every timer waits. Stopping a stopped clock does nothing. */
  pause(): void {
    if (this.stoppedAt !== undefined) return;
    this.stoppedAt = this.sim.now;
    for (const t of this.live) {
      t.sim?.cancel();
      t.sim = undefined;
    }
  }

  /** Start the clock again: timers fire after the running time they still had to wait. */
  resume(): void {
    if (this.stoppedAt === undefined) return;
    this.stoppedNs += this.sim.now - this.stoppedAt;
    this.stoppedAt = undefined;
    for (const t of this.live) this.arm(t);
  }

  /** Called by a timer that fired or was cancelled. */
  forget(t: ClockTimer): void {
    this.live.delete(t);
  }

  private arm(t: ClockTimer): void {
    t.sim = this.sim.after(t.deadline - this.now, () => t.fire());
  }
}
