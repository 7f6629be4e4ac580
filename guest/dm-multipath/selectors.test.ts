import { describe, expect, it } from 'vitest';
import { roundRobin } from './round-robin.js';
import { serviceTime } from './service-time.js';

describe('round-robin path selector', () => {
  it('takes the valid paths in turn, rr_min_io_rq at a time', () => {
    const s = roundRobin<string>();
    for (const p of ['a', 'b', 'c']) s.add(p);
    expect(Array.from({ length: 6 }, () => s.select(4096))).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    const s2 = roundRobin<string>(2);
    s2.add('a');
    s2.add('b');
    expect(Array.from({ length: 6 }, () => s2.select(4096))).toEqual(['a', 'a', 'b', 'b', 'a', 'a']);
  });

  it('never selects a failed path; a reinstated one joins at the end; none left is undefined', () => {
    const s = roundRobin<string>();
    s.add('a');
    s.add('b');
    s.fail('a');
    expect([s.select(1), s.select(1), s.select(1)]).toEqual(['b', 'b', 'b']);
    s.fail('b');
    expect(s.select(1)).toBeUndefined();
    s.reinstate('a');
    expect(s.select(1)).toBe('a');
    s.reinstate('b');
    expect(s.valid).toEqual(['a', 'b']);
    s.remove('a');
    s.reinstate('a');
    expect(s.valid).toEqual(['b']);
  });
});

describe('service-time path selector', () => {
  it('picks the path with the fewest bytes in flight, the least recently chosen among equals', () => {
    const s = serviceTime<string>();
    s.add('a');
    s.add('b');
    const a = s.select(4096)!;
    s.startIo(a, 4096);
    expect(a).toBe('a');
    expect(s.select(8192)).toBe('b');
    s.startIo('b', 8192);
    expect(s.select(512)).toBe('a');
    s.endIo('b', 8192);
    expect(s.select(512)).toBe('b');
  });

  it('forgets a failed path until it is reinstated', () => {
    const s = serviceTime<string>();
    s.add('a');
    s.add('b');
    s.fail('b');
    s.startIo('a', 1 << 20);
    expect(s.select(1)).toBe('a');
    s.fail('a');
    expect(s.select(1)).toBeUndefined();
    s.reinstate('b');
    expect(s.select(1)).toBe('b');
  });
});
