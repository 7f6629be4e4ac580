/**
 * Test rig for scsi-hd / scsi-cd: a bus, a disk over a memory drive (or any
 * BlockBackendApi), and `run`, which does what an HBA does with one command and runs the
 * simulation until it completes. `FaultyBackend` fails chosen operations with an errno.
 */
import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { BlockBackendApi, BlockCallback, BlockIoError, WriteFlags } from '../../storage/block-backend-api.js';
import type { BlockEnv } from '../../storage/driver.js';
import { memoryDrive, newBlockEnv } from '../../storage/testing.js';
import { ScsiBus } from '../scsi-bus/bus.js';
import type { ScsiData } from '../scsi-bus/data.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import { SENSE, parseSense, type SenseCode } from '../scsi-bus/defs.js';
import { createScsiDisk, type ScsiDisk, type ScsiDiskOptions } from './device.js';
import type { ScsiIoErrorStop } from './state.js';

export const VIRTIO_SCSI_BUS = { tcq: true, maxChannel: 0, maxTarget: 255, maxLun: 16383 } as const;

export interface Rig {
  readonly env: BlockEnv;
  readonly bus: ScsiBus;
  readonly disk: ScsiDisk;
  readonly backend: BlockBackendApi | undefined;
  readonly stops: ScsiIoErrorStop[];
}

export interface RigOptions extends Partial<Omit<ScsiDiskOptions, 'sim' | 'trace' | 'backend'>> {
  /** Drive size in bytes (default 1 MiB); ignored with `backend`. */
  readonly size?: number;
  readonly readOnly?: boolean;
  readonly cache?: 'writeback' | 'writethrough' | 'none';
  /** Wrap the drive (e.g. in a FaultyBackend); null: no drive (empty scsi-cd). */
  readonly backend?: ((b: BlockBackendApi, env: BlockEnv) => BlockBackendApi) | null;
  /** Keep the power-on unit attention pending (default: consumed). */
  readonly keepUa?: boolean;
}

export function makeRig(o: RigOptions = {}): Rig {
  const env = newBlockEnv();
  const drive = o.backend === null ? undefined : memoryDrive(env, { size: o.size ?? 1024 * 1024, readOnly: o.readOnly, cache: o.cache }).blk;
  const backend = drive && o.backend ? o.backend(drive, env) : drive;
  const stops: ScsiIoErrorStop[] = [];
  const bus = new ScsiBus(VIRTIO_SCSI_BUS);
  const r = createScsiDisk({ kind: 'scsi-hd', name: 'disk0', ...o, sim: env.sim, trace: env.trace, backend, onStop: (e) => stops.push(e) });
  if (E.isLeft(r)) throw new Error(`createScsiDisk: ${JSON.stringify(r.left)}`);
  const a = bus.attach(r.right);
  if (E.isLeft(a)) throw new Error(a.left.message);
  if (!o.keepUa) r.right.common.unitAttention = SENSE.NO_SENSE;
  return { env, bus, disk: r.right, backend, stops };
}

export interface Answer {
  readonly status: number;
  /** The bytes moved into the data-in buffer (buffer size minus residual). */
  readonly data: Uint8Array;
  readonly residual: number;
  /** Autosense, parsed; undefined when none. */
  readonly sense: SenseCode | undefined;
  readonly senseBytes: Uint8Array;
  /** enqueue()'s signed transfer length. */
  readonly xfer: number;
  readonly canceled: boolean;
  readonly req: ScsiRequest;
  /** Updated by the request's callbacks (for runs with `noRun`). */
  readonly outcome: { done: boolean; canceled: boolean };
}

/** CDB bytes, zero-padded to `len` (default: the array's own length). */
export const cdb = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

/**
 * One command as an HBA runs it: new request, enqueue, continue when data moves, run the
 * simulation until it completes. `dataIn`: the data-in buffer size (default: the command's
 * own length); `dataOut`: the data-out bytes.
 */
export function run(r: Rig, c: Uint8Array, opts: { dataIn?: number; dataOut?: Uint8Array; lun?: number; noRun?: boolean } = {}): Answer {
  const dev = r.bus.find(0, r.disk.common.id, opts.lun ?? r.disk.common.lun)!;
  const outcome = { done: false, canceled: false };
  const inBuf = opts.dataOut === undefined ? new Uint8Array(opts.dataIn ?? 65536) : undefined;
  const data: ScsiData | undefined = opts.dataOut ?? inBuf;
  const req = r.bus.newRequest(dev, {
    tag: 7,
    lun: opts.lun ?? r.disk.common.lun,
    cdb: c,
    data,
    onComplete: () => (outcome.done = true),
    onCancel: () => (outcome.canceled = true),
  });
  const n = req.enqueue();
  if (n !== 0) req.continue();
  if (!opts.noRun) r.env.sim.run({ stop: () => outcome.done || outcome.canceled });
  const senseBytes = outcome.done ? req.getSense() : new Uint8Array(0);
  const got = inBuf ? inBuf.subarray(0, Math.max(0, inBuf.length - req.residual)) : new Uint8Array(0);
  return { status: req.status, data: got, residual: req.residual, sense: senseBytes.length ? parseSense(senseBytes) : undefined, senseBytes, xfer: n, canceled: outcome.canceled, req, outcome };
}

/** Expect CHECK CONDITION with `sense`. */
export function expectCheck(a: Answer, sense: SenseCode): void {
  expect({ status: a.status, sense: a.sense }).toEqual({ status: 2, sense });
}

export function expectGood(a: Answer): void {
  expect({ status: a.status, sense: a.sense }).toEqual({ status: 0, sense: undefined });
}

/* CDB builders (big-endian fields). */
const be = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * (n - 1 - i))) % 256);
export const read10 = (lba: number, blocks: number, flags = 0) => cdb(0x28, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0);
export const write10 = (lba: number, blocks: number, flags = 0) => cdb(0x2a, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0);
export const read16 = (lba: number, blocks: number, flags = 0) => cdb(0x88, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0);
export const write16 = (lba: number, blocks: number, flags = 0) => cdb(0x8a, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0);
export const read12 = (lba: number, blocks: number, flags = 0) => cdb(0xa8, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0);
export const write12 = (lba: number, blocks: number, flags = 0) => cdb(0xaa, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0);
export const read6 = (lba: number, blocks: number) => cdb(0x08, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0);
export const write6 = (lba: number, blocks: number) => cdb(0x0a, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0);
export const writeSame10 = (lba: number, blocks: number, flags = 0) => cdb(0x41, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0);
export const writeSame16 = (lba: number, blocks: number, flags = 0) => cdb(0x93, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0);
export const sync10 = () => cdb(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
export const inquiry = (alloc: number, evpd = 0, page = 0) => cdb(0x12, evpd, page, ...be(alloc, 2), 0);
export const unmapCdb = (paramLen: number, anchor = 0) => cdb(0x42, anchor, 0, 0, 0, 0, 0, ...be(paramLen, 2), 0);

/** The UNMAP parameter list for `ranges` of [lba, blocks]. */
export function unmapParams(ranges: readonly (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(8 + 16 * ranges.length);
  out.set(be(6 + 16 * ranges.length, 2), 0);
  out.set(be(16 * ranges.length, 2), 2);
  ranges.forEach(([lba, n], i) => {
    out.set(be(lba, 8), 8 + 16 * i);
    out.set(be(n, 4), 16 + 16 * i);
  });
  return out;
}

type Op = 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes';

/** A BlockBackendApi that fails the operations in `fail` with `errno` (later, like a real one). */
export class FaultyBackend implements BlockBackendApi {
  readonly fail = new Set<Op>();
  errno: BlockIoError['errno'] = 'EIO';
  readonly calls: Op[] = [];

  constructor(
    private readonly inner: BlockBackendApi,
    private readonly env: BlockEnv,
  ) {}

  get name() {
    return this.inner.name;
  }
  get writeCacheEnabled() {
    return this.inner.writeCacheEnabled;
  }
  setWriteCacheEnabled(on: boolean) {
    this.inner.setWriteCacheEnabled(on);
  }
  get readOnly() {
    return this.inner.readOnly;
  }
  length() {
    return this.inner.length();
  }
  private failing(op: Op, cb: BlockCallback<never>): boolean {
    this.calls.push(op);
    if (!this.fail.has(op)) return false;
    const err: BlockIoError = { errno: this.errno, message: `injected ${this.errno}` };
    this.env.sim.after(1000, () => cb(err));
    return true;
  }
  read(offset: number, bytes: number, cb: BlockCallback<Uint8Array>) {
    if (!this.failing('read', cb)) this.inner.read(offset, bytes, cb);
  }
  write(offset: number, data: Uint8Array, flags: WriteFlags, cb: BlockCallback) {
    if (!this.failing('write', cb)) this.inner.write(offset, data, flags, cb);
  }
  flush(cb: BlockCallback) {
    if (!this.failing('flush', cb)) this.inner.flush(cb);
  }
  discard(offset: number, bytes: number, cb: BlockCallback) {
    if (!this.failing('discard', cb)) this.inner.discard(offset, bytes, cb);
  }
  writeZeroes(offset: number, bytes: number, flags: { mayUnmap: boolean }, cb: BlockCallback) {
    if (!this.failing('writeZeroes', cb)) this.inner.writeZeroes(offset, bytes, flags, cb);
  }
}
