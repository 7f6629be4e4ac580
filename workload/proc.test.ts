/**
 * The process driver: `call` and `submit` take an Observable's first value and let go of
 * it (as `take(1)` would), whether it emits while being subscribed or later.
 */
import { Observable, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Simulator } from '../sim/simulator.js';
import { call, reap, startProc, submit, type Proc } from './proc.js';

/** An Observable that counts its subscriptions and teardowns. */
function counted<T>(src: Observable<T>): { o: Observable<T>; subs: () => number; teardowns: () => number } {
  let subs = 0;
  let teardowns = 0;
  const o = new Observable<T>((sub) => {
    subs++;
    const inner = src.subscribe(sub);
    return () => {
      teardowns++;
      inner.unsubscribe();
    };
  });
  return { o, subs: () => subs, teardowns: () => teardowns };
}

describe('startProc', () => {
  it('call: takes the first value, synchronous or later, and unsubscribes', () => {
    const sim = new Simulator();
    const now = counted(of(1, 2, 3));
    const later = new Subject<number>();
    const late = counted(later);
    const seen: number[] = [];
    let result: string | undefined;
    function* proc(): Proc<string> {
      seen.push(yield* call(now.o));
      seen.push(yield* call(late.o));
      return 'done';
    }
    startProc(sim, proc(), (r) => (result = r));
    expect(seen).toEqual([1]);
    expect(now.teardowns()).toBe(1);
    later.next(7);
    later.next(8); // not seen: the process let go after 7
    expect(seen).toEqual([1, 7]);
    expect(late.teardowns()).toBe(1);
    expect(later.observed).toBe(false);
    expect(result).toBe('done');
  });

  it('submit and reap: completions queue with their tags; extra values are dropped', () => {
    const sim = new Simulator();
    const a = new Subject<string>();
    const b = new Subject<string>();
    let got: { tag: string; value: string }[] = [];
    function* proc(): Proc<void> {
      yield* submit(a, 'a');
      yield* submit(b, 'b');
      got = yield* reap<string, string>(2);
    }
    startProc(sim, proc(), () => undefined);
    b.next('B');
    b.next('B again');
    expect(got).toEqual([]);
    a.next('A');
    expect(got).toEqual([
      { tag: 'b', value: 'B' },
      { tag: 'a', value: 'A' },
    ]);
    expect(a.observed || b.observed).toBe(false);
  });
});
