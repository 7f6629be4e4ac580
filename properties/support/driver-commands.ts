/**
 * The commands of the BlockDriver contract's model-based test (fast-check's
 * `fc.commands` layout): each runs one operation on a node a fixture made and on the
 * model — a Uint8Array of the node's bytes — and checks the driver against its claims.
 *
 * Offsets and lengths are drawn as plain numbers and taken modulo the node's size when a
 * command runs (the size is not known when the commands are drawn, and resize changes
 * it), so any byte alignment and length comes up. Every operation is in range: the range
 * checks belong to the generic layer and storage-contract.prop.ts covers them.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { BDRV_BLOCK_ALLOCATED, BDRV_BLOCK_EOF, BDRV_BLOCK_ZERO, type IoAcct } from '../../host/storage/driver.js';
import type { DriverClaims, FixtureNode } from './driver-fixtures.js';
import { fillPattern, firstDiff } from './vm.js';

export interface DriverModel {
  /** What the node must read as. */
  data: Uint8Array;
}

export interface DriverReal {
  node: FixtureNode;
  readonly claims: DriverClaims;
}

type Cmd = fc.Command<DriverModel, DriverReal>;

const acct = (): IoAcct => ({ ns: 0 });

/** A range [off, off + len) inside a node of `size` bytes (len ≥ 1), from two drawn numbers. */
export function within(size: number, a: number, b: number): [number, number] {
  const off = a % size;
  return [off, 1 + (b % (size - off))];
}

/** The whole node, read; fails the test if the read fails. */
export function readAll(r: DriverReal): Uint8Array {
  const buf = new Uint8Array(r.node.bs.getLength());
  if (buf.length) expect(r.node.bs.preadv(0, buf, acct())).toBeNull();
  return buf;
}

/** The node reads back exactly as the model says (naming the first byte that differs). */
export function expectModel(m: DriverModel, r: DriverReal, what: string): void {
  expect(r.node.bs.getLength(), `${what}: length`).toBe(m.data.length);
  const at = firstDiff(readAll(r), m.data);
  expect(at, `${what}: first byte that differs from the model`).toBe(-1);
}

export class WriteCommand implements Cmd {
  constructor(readonly a: number, readonly b: number, readonly seed: number, readonly fua: boolean) {}
  check = (m: Readonly<DriverModel>): boolean => m.data.length > 0;
  run(m: DriverModel, r: DriverReal): void {
    const [off, len] = within(m.data.length, this.a, this.b);
    const data = fillPattern(new Uint8Array(len), this.seed);
    expect(r.node.bs.pwritev(off, data, { fua: this.fua }, acct()), this.toString()).toBeNull();
    if (r.claims.keepsData) m.data.set(data, off);
  }
  toString = (): string => `write(${this.a}, ${this.b}, seed ${this.seed}${this.fua ? ', fua' : ''})`;
}

export class ReadCommand implements Cmd {
  constructor(readonly a: number, readonly b: number) {}
  check = (m: Readonly<DriverModel>): boolean => m.data.length > 0;
  run(m: DriverModel, r: DriverReal): void {
    const [off, len] = within(m.data.length, this.a, this.b);
    const buf = new Uint8Array(len);
    expect(r.node.bs.preadv(off, buf, acct()), this.toString()).toBeNull();
    expect(firstDiff(buf, m.data.subarray(off, off + len)), `${this.toString()} at ${off}+${len}: first byte that differs`).toBe(-1);
  }
  toString = (): string => `read(${this.a}, ${this.b})`;
}

export class WriteZeroesCommand implements Cmd {
  constructor(readonly a: number, readonly b: number, readonly mayUnmap: boolean) {}
  check = (m: Readonly<DriverModel>): boolean => m.data.length > 0;
  run(m: DriverModel, r: DriverReal): void {
    const [off, len] = within(m.data.length, this.a, this.b);
    expect(r.node.bs.writeZeroes(off, len, { mayUnmap: this.mayUnmap }, acct()), this.toString()).toBeNull();
    m.data.fill(0, off, off + len);
    const buf = new Uint8Array(len);
    expect(r.node.bs.preadv(off, buf, acct())).toBeNull();
    expect(buf.findIndex((x) => x !== 0), `${this.toString()} at ${off}+${len}: first non-zero byte`).toBe(-1);
  }
  toString = (): string => `write-zeroes(${this.a}, ${this.b}${this.mayUnmap ? ', may-unmap' : ''})`;
}

/** Discard, then read the range: zeroes, or (if the driver says so) zeroes or the old bytes; the model takes what was read. */
export class DiscardCommand implements Cmd {
  constructor(readonly a: number, readonly b: number) {}
  check = (m: Readonly<DriverModel>): boolean => m.data.length > 0;
  run(m: DriverModel, r: DriverReal): void {
    const [off, len] = within(m.data.length, this.a, this.b);
    expect(r.node.bs.discard(off, len, acct()), this.toString()).toBeNull();
    const buf = new Uint8Array(len);
    expect(r.node.bs.preadv(off, buf, acct())).toBeNull();
    const old = m.data.subarray(off, off + len);
    const bad = buf.findIndex((x, i) => x !== 0 && (r.claims.discard === 'zeroes' || x !== old[i]));
    expect(bad, `${this.toString()} at ${off}+${len}: first byte neither zero nor ${r.claims.discard === 'zeroes' ? '(claim: zeroes)' : 'the old data'}`).toBe(-1);
    m.data.set(buf, off);
  }
  toString = (): string => `discard(${this.a}, ${this.b})`;
}

export class FlushCommand implements Cmd {
  check = (): boolean => true;
  run(_m: DriverModel, r: DriverReal): void {
    expect(r.node.bs.flush(acct()), this.toString()).toBeNull();
  }
  toString = (): string => 'flush';
}

/** Flush, close, open the same storage again: everything reads back. Persistent fixtures only. */
export class ReopenCommand implements Cmd {
  check = (): boolean => true;
  run(m: DriverModel, r: DriverReal): void {
    expect(r.node.bs.flush(acct()), 'flush before reopen').toBeNull();
    r.node = r.node.reopen();
    expectModel(m, r, 'after reopen');
  }
  toString = (): string => 'reopen';
}

/**
 * Block status over a range: runs are non-empty and tile the range exactly; a run that is
 * ZERO, or not ALLOCATED (no fixture has a backing file), reads as zeroes.
 */
export class BlockStatusCommand implements Cmd {
  constructor(readonly a: number, readonly b: number) {}
  check = (m: Readonly<DriverModel>): boolean => m.data.length > 0;
  run(m: DriverModel, r: DriverReal): void {
    const [q0, len] = within(m.data.length, this.a, this.b);
    const q1 = q0 + len;
    for (let off = q0; off < q1; ) {
      const st = r.node.bs.blockStatus(off, q1 - off);
      const at = `${this.toString()}: run at ${off} (flags 0x${st.flags.toString(16)}, pnum ${st.pnum})`;
      expect(st.pnum, at).toBeGreaterThan(0);
      expect(off + st.pnum, at).toBeLessThanOrEqual(q1);
      if (st.flags & BDRV_BLOCK_ZERO || !(st.flags & BDRV_BLOCK_ALLOCATED)) {
        const nz = m.data.subarray(off, off + st.pnum).findIndex((x) => x !== 0);
        expect(nz < 0 ? -1 : off + nz, `${at}: ZERO or unallocated, yet holds data at`).toBe(-1);
      }
      off += st.pnum;
    }
    expect(r.node.bs.blockStatus(m.data.length, 1).flags & BDRV_BLOCK_EOF, 'block status at the end reports EOF').toBeTruthy();
  }
  toString = (): string => `block-status(${this.a}, ${this.b})`;
}

/** Grow by `units` × sizeUnit bytes: the new bytes read as zeroes, or ENOTSUP where the driver says so. */
export class GrowCommand implements Cmd {
  constructor(readonly units: number) {}
  check = (): boolean => true;
  run(m: DriverModel, r: DriverReal): void {
    const size = m.data.length + this.units * r.claims.sizeUnit;
    const err = r.node.bs.truncate(size);
    if (r.claims.resize === 'ENOTSUP') {
      expect(err?.errno, this.toString()).toBe('ENOTSUP');
      expect(r.node.bs.getLength()).toBe(m.data.length);
      return;
    }
    expect(err, this.toString()).toBeNull();
    const grown = new Uint8Array(size);
    grown.set(m.data);
    m.data = grown;
    expectModel(m, r, this.toString());
  }
  toString = (): string => `grow(+${this.units} units)`;
}

const n = fc.nat();

/** Every command, for a fixture with `claims`; reopen only where the data persists. */
export function driverCommands(claims: DriverClaims): fc.Arbitrary<Cmd>[] {
  const cmds: fc.Arbitrary<Cmd>[] = [
    fc.tuple(n, n, fc.nat(255), fc.boolean()).map(([a, b, s, f]) => new WriteCommand(a, b, s, f)),
    fc.tuple(n, n, fc.nat(255), fc.boolean()).map(([a, b, s, f]) => new WriteCommand(a, b, s, f)),
    fc.tuple(n, n).map(([a, b]) => new ReadCommand(a, b)),
    fc.tuple(n, n, fc.boolean()).map(([a, b, u]) => new WriteZeroesCommand(a, b, u)),
    fc.tuple(n, n).map(([a, b]) => new DiscardCommand(a, b)),
    fc.constant(new FlushCommand()),
    fc.tuple(n, n).map(([a, b]) => new BlockStatusCommand(a, b)),
    fc.integer({ min: 1, max: 16 }).map((u) => new GrowCommand(u)),
  ];
  if (claims.persistent) cmds.push(fc.constant(new ReopenCommand()));
  return cmds;
}
