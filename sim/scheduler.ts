/**
 * An rxjs `SchedulerLike` over the simulator, so `timer`, `delay`, `debounceTime` and
 * friends run in virtual time. rxjs speaks milliseconds: a delay of 0.05 is 50 µs of
 * virtual time. `now()` answers in milliseconds too, as rxjs expects.
 */
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { Clock } from './clock.js';
import type { Timer } from './simulator.js';

export const NS_PER_MS = 1_000_000;

/** Over the simulator itself, or over a clock that stops (the guest's: sim/clock.ts). */
export function virtualScheduler(sim: Clock): SchedulerLike {
  return {
    now: () => sim.now / NS_PER_MS,
    schedule<T>(
      work: (this: SchedulerAction<T>, state?: T) => void,
      delay = 0,
      state?: T,
    ): Subscription {
      let timer: Timer | undefined;
      let closed = false;
      const sub = new Subscription(() => {
        closed = true;
        timer?.cancel();
      });
      const action = Object.assign(sub, {
        schedule(nextState?: T, nextDelay = 0): Subscription {
          if (closed) return sub;
          timer?.cancel();
          timer = sim.after(nextDelay * NS_PER_MS, () => {
            if (!closed) work.call(action as SchedulerAction<T>, nextState);
          });
          return sub;
        },
      }) as unknown as SchedulerAction<T>;
      action.schedule(state, delay);
      return sub;
    },
  };
}
