/**
 * Test helpers for virtio-blk: a minimal DeviceVirtqueue (popped elements are handed in
 * directly, no ring), an in-memory BlockBackendApi that completes on the simulation
 * clock, and a driver-side request builder that lays requests out in guest memory the
 * way Linux's virtio_blk does (header, data, status), or any other way a test wants.
 */
import type { BlockBackendApi, BlockCallback, BlockIoError, WriteFlags } from '../../storage/block-backend-api.js';
import { gatherIoVec, type IoVec } from '../../storage/iovec.js';
import { GuestMemory, type SgElem } from '../../../hw/memory.js';
import { VIRTIO_BLK_OUTHDR_SIZE, writeOutHdr } from '../../../hw/virtio/blk.js';
import { ExecutionContext, type ContextKind } from '../../../sim/context.js';
import { CostModel } from '../../../sim/costs.js';
import { Simulator } from '../../../sim/simulator.js';
import { Recorder, Trace } from '../../../sim/trace.js';
import type { DeviceVirtqueue, PopResult, VirtqElement } from '../virtio/types.js';
import { createVirtioBlk, type VirtioBlk, type VirtioBlkOptions } from './device.js';

/** A queue fed by the test: `avail` holds chains (or 'broken') in pop order. */
export class FakeVirtqueue implements DeviceVirtqueue {
  readonly avail: (VirtqElement | 'broken')[] = [];
  readonly used: { head: number; len: number }[] = [];
  readonly notificationLog: boolean[] = [];
  notifies = 0;
  /** Called when the device re-enables notifications (to model a kick racing with it). */
  onEnable?: () => void;

  constructor(
    readonly mem: GuestMemory,
    readonly index = 0,
    readonly size = 256,
  ) {}

  pop(): PopResult {
    const e = this.avail.shift();
    if (e === undefined) return { kind: 'empty' };
    if (e === 'broken') return { kind: 'broken', message: 'test: broken ring' };
    return { kind: 'elem', elem: e };
  }
  push(elem: VirtqElement, len: number): void {
    this.used.push({ head: elem.head, len });
  }
  notify(): void {
    this.notifies++;
  }
  setNotification(enable: boolean): void {
    this.notificationLog.push(enable);
    if (enable) this.onEnable?.();
  }
  isEmpty(): boolean {
    return this.avail.length === 0;
  }
}

export type BackendOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes';

export interface BackendCall {
  op: BackendOp;
  offset: number;
  bytes: number;
  fua?: boolean;
  mayUnmap?: boolean;
}

/** An in-memory drive; every call completes `latencyNs` later. */
export class FakeBackend implements BlockBackendApi {
  readonly name = 'fake';
  readonly data: Uint8Array;
  readonly calls: BackendCall[] = [];
  latencyNs = 1000;
  /** Return an error to fail a call. */
  failWith?: (call: BackendCall) => BlockIoError | null;
  /** With `ioVec`: blk_aio_pwritev of pieces, and the pieces of every such call as they were handed over. */
  writev?: (offset: number, data: IoVec, flags: WriteFlags, cb: BlockCallback) => void;
  readonly pieces: Uint8Array[][] = [];

  constructor(
    private readonly sim: Simulator,
    size: number,
    readonly readOnly = false,
    /** blk_enable_write_cache: with it off every write is recorded as FUA (blk_co_pwritev_part). */
    public writeCacheEnabled = true,
    ioVec = false,
  ) {
    this.data = new Uint8Array(size);
    if (ioVec)
      this.writev = (offset, data, flags, cb) => {
        this.pieces.push([...data.parts]);
        this.write(offset, gatherIoVec(data), flags, cb);
      };
  }

  length(): number {
    return this.data.length;
  }

  private start(call: BackendCall, cb: (err: BlockIoError | null) => void): void {
    this.calls.push(call);
    const inRange = call.offset >= 0 && call.offset + call.bytes <= this.data.length;
    const err = this.failWith?.(call) ?? (inRange ? null : { errno: 'EINVAL' as const, message: 'out of range' });
    this.sim.after(this.latencyNs, () => cb(err));
  }

  read(offset: number, bytes: number, cb: BlockCallback<Uint8Array>): void {
    this.start({ op: 'read', offset, bytes }, (err) => (err ? cb(err) : cb(null, this.data.slice(offset, offset + bytes))));
  }
  setWriteCacheEnabled(on: boolean): void {
    this.writeCacheEnabled = on;
  }

  write(offset: number, data: Uint8Array, flags: WriteFlags, cb: BlockCallback): void {
    this.start({ op: 'write', offset, bytes: data.length, fua: (flags.fua ?? false) || !this.writeCacheEnabled }, (err) => {
      if (!err) this.data.set(data, offset);
      cb(err);
    });
  }
  flush(cb: BlockCallback): void {
    this.start({ op: 'flush', offset: 0, bytes: 0 }, cb);
  }
  discard(offset: number, bytes: number, cb: BlockCallback): void {
    this.start({ op: 'discard', offset, bytes }, cb);
  }
  writeZeroes(offset: number, bytes: number, flags: { mayUnmap: boolean }, cb: BlockCallback): void {
    this.start({ op: 'write-zeroes', offset, bytes, mayUnmap: flags.mayUnmap }, (err) => {
      if (!err) this.data.fill(0, offset, offset + bytes);
      cb(err);
    });
  }
}

/** A bump allocator over guest RAM; each allocation is cache-line aligned and zeroed. */
export class GuestAlloc {
  constructor(
    readonly mem: GuestMemory,
    private next = 0x10000,
  ) {}
  alloc(len: number): number {
    const a = this.next;
    this.next += Math.ceil(Math.max(len, 1) / 64) * 64 + 64;
    return a;
  }
}

export interface BuiltRequest {
  elem: VirtqElement;
  /** Device-writable data buffers (reads, GET_ID) and the status byte address. */
  inData: SgElem[];
  statusAddr: number;
}

export interface RequestSpec {
  head: number;
  type: number;
  sector?: number;
  /** Device-readable payload after the header (write data, discard ranges). */
  outData?: Uint8Array;
  /** Device-writable payload bytes before the status byte. */
  inLen?: number;
  /** Split the header and payloads into pieces of at most this many bytes. */
  chunk?: number;
  /** Put the status byte at the end of the last data buffer instead of its own descriptor. */
  statusWithData?: boolean;
}

function pieces(addr: number, len: number, chunk: number): SgElem[] {
  const out: SgElem[] = [];
  for (let o = 0; o < len; o += chunk) out.push({ addr: addr + o, len: Math.min(chunk, len - o) });
  return out;
}

/** Lay out a request in guest memory as a driver would and return its chain. */
export function buildRequest(a: GuestAlloc, spec: RequestSpec): BuiltRequest {
  const mem = a.mem;
  const chunk = spec.chunk ?? 1 << 30;
  const hdr = a.alloc(VIRTIO_BLK_OUTHDR_SIZE);
  writeOutHdr(mem, hdr, { type: spec.type, ioprio: 0, sector: spec.sector ?? 0 });
  const out = pieces(hdr, VIRTIO_BLK_OUTHDR_SIZE, chunk);
  if (spec.outData && spec.outData.length > 0) {
    const d = a.alloc(spec.outData.length);
    mem.write(d, spec.outData);
    out.push(...pieces(d, spec.outData.length, chunk));
  }
  const inLen = spec.inLen ?? 0;
  const inn: SgElem[] = [];
  let inData: SgElem[] = [];
  let statusAddr: number;
  if (spec.statusWithData && inLen > 0) {
    const d = a.alloc(inLen + 1);
    inData = pieces(d, inLen, chunk);
    inn.push(...pieces(d, inLen + 1, chunk));
    statusAddr = d + inLen;
  } else {
    if (inLen > 0) {
      const d = a.alloc(inLen);
      inData = pieces(d, inLen, chunk);
      inn.push(...inData);
    }
    statusAddr = a.alloc(1);
    inn.push({ addr: statusAddr, len: 1 });
  }
  mem.write8(statusAddr, 0xee);
  return { elem: { head: spec.head, out, in: inn, ndescs: out.length + inn.length }, inData, statusAddr };
}

/** Read what the device wrote into a request's in-buffers. */
export function readInData(mem: GuestMemory, r: BuiltRequest): Uint8Array {
  const len = r.inData.reduce((n, e) => n + e.len, 0);
  const out = new Uint8Array(len);
  let off = 0;
  for (const e of r.inData) {
    mem.readInto(e.addr, out.subarray(off, off + e.len));
    off += e.len;
  }
  return out;
}

export interface Rig {
  sim: Simulator;
  trace: Trace;
  rec: Recorder;
  ctx: ExecutionContext;
  mem: GuestMemory;
  alloc: GuestAlloc;
  backend: FakeBackend;
  vq: FakeVirtqueue;
  dev: VirtioBlk;
  errors: string[];
  /** Kick the queue (handleOutput on the device context) and run the simulation to the end. */
  kick(vq?: FakeVirtqueue): void;
}

export interface RigOptions extends Partial<Omit<VirtioBlkOptions, 'sim' | 'trace' | 'costs' | 'context' | 'backend' | 'devName'>> {
  diskBytes?: number;
  readOnly?: boolean;
  writeCache?: boolean;
  ctxKind?: ContextKind;
  /** The backend takes merged writes as pieces (FakeBackend.writev). */
  ioVec?: boolean;
}

/** A device over a fake backend and a fake queue, features negotiated as offered, started. */
export function makeRig(o: RigOptions = {}): Rig {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const ctx = new ExecutionContext(sim, trace, o.ctxKind === 'iothread' ? 'iothread0' : 'main-loop', o.ctxKind ?? 'main-loop');
  const mem = new GuestMemory(64 * 1024 * 1024);
  const backend = new FakeBackend(sim, o.diskBytes ?? 1024 * 1024, o.readOnly ?? false, o.writeCache ?? true, o.ioVec ?? false);
  const errors: string[] = [];
  const r = createVirtioBlk({ sim, trace, costs: new CostModel(), context: ctx, backend, devName: 'vda', onError: (m) => errors.push(m), ...o });
  if (r._tag === 'Left') throw new Error(`test rig: ${JSON.stringify(r.left)}`);
  const dev = r.right;
  const vq = new FakeVirtqueue(mem);
  dev.setFeatures(dev.hostFeatures());
  dev.start([vq]);
  const kick = (q: FakeVirtqueue = vq): void => {
    ctx.run('kick', () => dev.handleOutput(q));
    sim.run();
  };
  return { sim, trace, rec, ctx, mem, alloc: new GuestAlloc(mem), backend, vq, dev, errors, kick };
}
