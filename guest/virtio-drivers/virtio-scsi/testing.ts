/**
 * Test support: a fake virtio-scsi device behind the transport calls the driver makes
 * (VirtioScsiTransport), for driver tests without a PCI bus or QEMU. Its device side
 * reads the driver's split rings straight from guest memory (hw/virtio/split-ring.ts),
 * decodes requests with hw/virtio/scsi-req.ts, hands commands to a `FakeScsiTarget` (or
 * any responder), writes responses and data back, pushes used entries and interrupts
 * the CPU the driver programmed (an x2APIC IPI on the test kernel's ports).
 *
 * Events are posted with `pushEvent`; with no event buffer free the device sets
 * EVENTS_MISSED on the next one, as QEMU does.
 */
import { MSR_X2APIC_ICR, x2apicIcr } from '../../../hw/cpu.js';
import type { GuestMemory, SgElem } from '../../../hw/memory.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, featureBits, type Features } from '../../../hw/virtio/constants.js';
import * as V from '../../../hw/virtio/scsi.js';
import * as R from '../../../hw/virtio/scsi-req.js';
import { availIdx, availRing, readDesc, setAvailEvent, setUsedElem, setUsedIdx, usedIdx, type SplitRingAddrs } from '../../../hw/virtio/split-ring.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Bio } from '../../blockdev/bio.js';
import type { BlkStatus } from '../../blockdev/request.js';
import { testKernel, type TestKernel } from '../../blockdev/testing.js';
import type { GuestKernel } from '../../kernel/kernel.js';
import { SdDriver } from '../../scsi/sd.js';
import { FakeScsiTarget, type FakeLunOptions, type ScsiResponder } from '../../scsi/testing.js';
import { VirtioScsiDriver } from './driver.js';
import type { PciFunction } from '../../pci/enumerate.js';
import type { VirtioScsiTransport } from './transport.js';

export interface FakeVirtioScsiOptions {
  numQueues?: number;
  queueSize?: number;
  segMax?: number;
  maxSectors?: number;
  cmdPerLun?: number;
  maxTarget?: number;
  maxLun?: number;
  features?: Features;
  /** MSI-X table size (default: enough for a vector per queue plus config). */
  msixVectors?: number;
  /** Device latency per request, ns. */
  latencyNs?: number;
  /** TMF answer: default FUNCTION COMPLETE after aborting the task (its request answered ABORTED first). */
  tmf?: (subtype: number, target: number, lun: number, tag: bigint) => number | 'hang';
  /** A device that answers a TMF without giving back the tasks it covers: they are answered whenever their target replies. */
  tmfKeepsTasks?: boolean;
}

interface Chain {
  head: number;
  out: SgElem[];
  in: SgElem[];
}

interface Pending {
  q: number;
  chain: Chain;
  tag: bigint;
  target: number;
  lun: number;
  done: boolean;
}

export class FakeVirtioScsiDevice implements VirtioScsiTransport {
  readonly msixVectors: number;
  readonly fn = { irqLine: 11 } as unknown as PciFunction;
  readonly config: Uint8Array;
  status = 0;
  /** Notifications received, by queue. */
  readonly notifies: number[] = [];
  private readonly rings = new Map<number, { ring: SplitRingAddrs; lastAvail: number; entry: number }>();
  private readonly msix = new Map<number, { cpu: number; vector: number }>();
  private readonly eventBufs: Chain[] = [];
  private missed = false;
  /** Requests handed to the target and not yet answered (for aborts). */
  readonly pending: Pending[] = [];
  private readonly offered: Features;
  readonly opts: Required<Omit<FakeVirtioScsiOptions, 'tmf' | 'features' | 'msixVectors'>> & Pick<FakeVirtioScsiOptions, 'tmf'>;

  constructor(
    private readonly k: GuestKernel,
    readonly target: ScsiResponder,
    o: FakeVirtioScsiOptions = {},
  ) {
    this.opts = {
      numQueues: o.numQueues ?? 1,
      queueSize: o.queueSize ?? 128,
      segMax: o.segMax ?? 126,
      maxSectors: o.maxSectors ?? 0xffff,
      cmdPerLun: o.cmdPerLun ?? 128,
      maxTarget: o.maxTarget ?? 3,
      maxLun: o.maxLun ?? 16383,
      latencyNs: o.latencyNs ?? 20_000,
      tmf: o.tmf,
      tmfKeepsTasks: o.tmfKeepsTasks ?? false,
    };
    this.offered = o.features ?? featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, V.VIRTIO_SCSI_F_HOTPLUG, V.VIRTIO_SCSI_F_CHANGE);
    this.msixVectors = o.msixVectors ?? this.opts.numQueues + 3;
    this.config = V.encodeVirtioScsiConfig({
      numQueues: this.opts.numQueues,
      segMax: this.opts.segMax,
      maxSectors: this.opts.maxSectors,
      cmdPerLun: this.opts.cmdPerLun,
      eventInfoSize: V.VIRTIO_SCSI_EVENT_SIZE,
      senseSize: 96,
      cdbSize: 32,
      maxChannel: 0,
      maxTarget: this.opts.maxTarget,
      maxLun: this.opts.maxLun,
    });
  }

  private get mem(): GuestMemory {
    return this.k.mem;
  }

  /* ---- the transport calls ---- */

  negotiate(wanted: Features): Features {
    return this.offered & wanted;
  }
  readConfig(off: number, size: 1 | 2 | 4 | 8): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.config[off + i] ?? 0);
    return v;
  }
  writeConfig(off: number, size: 1 | 2 | 4 | 8, v: number): void {
    for (let i = 0; i < size && off + i < this.config.length; i++) this.config[off + i] = Math.floor(v / 256 ** i) & 0xff;
  }
  queueMaxSize(i: number): number {
    return i < V.VIRTIO_SCSI_VQ_BASE + Math.max(1, this.opts.numQueues) ? this.opts.queueSize : 0;
  }
  setupQueue(index: number, ring: { desc: number; avail: number; used: number }, size: number, entry: number): { size: number; notifyAddr: number } {
    this.rings.set(index, { ring: { ...ring, size }, lastAvail: 0, entry });
    return { size, notifyAddr: index };
  }
  programMsix(entry: number, cpu: number, vector: number): void {
    this.msix.set(entry, { cpu, vector });
  }
  enableMsix(): void {}
  setConfigVector(): void {}
  driverOk(): void {
    this.status |= VIRTIO_CONFIG_S_DRIVER_OK;
  }
  readIsr(): number {
    return 1;
  }
  notify(_port: unknown, _addr: number, queue: number): void {
    this.notifies.push(queue);
    this.k.sim.after(1000, () => this.process(queue));
  }

  /* ---- the device side ---- */

  private chains(q: number): Chain[] {
    const r = this.rings.get(q);
    if (!r) return [];
    const out: Chain[] = [];
    const avail = availIdx(this.mem, r.ring);
    while (r.lastAvail !== avail) {
      const head = availRing(this.mem, r.ring, r.lastAvail);
      r.lastAvail = (r.lastAvail + 1) & 0xffff;
      out.push(this.walk(r.ring, head));
    }
    // Notifications stay on (EVENT_IDX): ask to be told of the next buffer.
    setAvailEvent(this.mem, r.ring, r.lastAvail);
    return out;
  }

  private walk(ring: SplitRingAddrs, head: number): Chain {
    const c: Chain = { head, out: [], in: [] };
    let table = ring.desc;
    let size = ring.size;
    let i = head;
    for (let n = 0; n < size; n++) {
      const d = readDesc(this.mem, table, i);
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        table = d.addr;
        size = Math.floor(d.len / 16);
        i = 0;
        n = -1;
        continue;
      }
      (d.flags & VIRTQ_DESC_F_WRITE ? c.in : c.out).push({ addr: d.addr, len: d.len });
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      i = d.next;
    }
    return c;
  }

  private gather(sg: SgElem[]): Uint8Array {
    const n = sg.reduce((a, e) => a + e.len, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const e of sg) {
      this.mem.readInto(e.addr, out.subarray(o, o + e.len));
      o += e.len;
    }
    return out;
  }

  private scatter(sg: SgElem[], data: Uint8Array): number {
    let o = 0;
    for (const e of sg) {
      if (o >= data.length) break;
      const n = Math.min(e.len, data.length - o);
      this.mem.write(e.addr, data.subarray(o, o + n));
      o += n;
    }
    return o;
  }

  private process(q: number): void {
    for (const c of this.chains(q)) {
      if (q === V.VIRTIO_SCSI_VQ_CONTROL) this.control(c);
      else if (q === V.VIRTIO_SCSI_VQ_EVENT) this.eventBufs.push(c);
      else this.request(q, c);
    }
  }

  private push(q: number, head: number, len: number): void {
    const r = this.rings.get(q)!;
    const idx = usedIdx(this.mem, r.ring);
    setUsedElem(this.mem, r.ring, idx, head, len);
    setUsedIdx(this.mem, r.ring, idx + 1);
    const m = this.msix.get(r.entry);
    if (m) this.k.cpus[m.cpu].port.wrmsr(MSR_X2APIC_ICR, x2apicIcr(m.cpu, m.vector));
  }

  private request(q: number, c: Chain): void {
    const cdbSize = this.readConfig(V.VIRTIO_SCSI_CFG_CDB_SIZE, 4);
    const senseSize = this.readConfig(V.VIRTIO_SCSI_CFG_SENSE_SIZE, 4);
    const outBytes = this.gather(c.out);
    const hdr = R.decodeVirtioScsiCmdReq(outBytes, cdbSize, false);
    const respSize = R.virtioScsiCmdRespSize(senseSize);
    const finish = (resp: R.VirtioScsiCmdResp, dataIn?: Uint8Array): void => {
      const respBytes = R.encodeVirtioScsiCmdResp(resp, senseSize);
      const inb = new Uint8Array(c.in.reduce((a, e) => a + e.len, 0));
      inb.set(respBytes.subarray(0, inb.length));
      if (dataIn) inb.set(dataIn.subarray(0, Math.max(0, inb.length - respSize)), respSize);
      this.scatter(c.in, inb);
      this.push(q, c.head, respSize + (dataIn?.length ?? 0));
    };
    if (E.isLeft(hdr)) return finish(R.cmdResp({ response: V.VIRTIO_SCSI_S_FAILURE, status: 0, resid: 0 }));
    const lun = V.decodeVirtioScsiLun(hdr.right.lun);
    if (lun.kind !== 'lu' || !this.target.hasTarget(lun.target)) return finish(R.cmdResp({ response: V.VIRTIO_SCSI_S_BAD_TARGET, status: 0, resid: 0 }));
    const dataInLen = Math.max(0, c.in.reduce((a, e) => a + e.len, 0) - respSize);
    const p: Pending = { q, chain: c, tag: hdr.right.tag, target: lun.target, lun: lun.lun, done: false };
    this.pending.push(p);
    this.target.command({ target: lun.target, lun: lun.lun, cdb: hdr.right.cdb, dataOut: outBytes.subarray(R.virtioScsiCmdReqSize(cdbSize, false)), dataInLen }, (rep) =>
      this.k.sim.after(this.opts.latencyNs, () => {
        if (p.done) return;
        p.done = true;
        this.pending.splice(this.pending.indexOf(p), 1);
        const n = Math.min(rep.dataIn?.length ?? 0, dataInLen);
        finish(R.cmdResp({ response: rep.response ?? V.VIRTIO_SCSI_S_OK, status: rep.status, resid: dataInLen - n, sense: rep.sense }), rep.dataIn?.subarray(0, n));
      }),
    );
  }

  private control(c: Chain): void {
    const req = R.decodeVirtioScsiCtrlReq(this.gather(c.out));
    let response: number | 'hang' = V.VIRTIO_SCSI_S_OK;
    if (E.isRight(req) && req.right.kind === 'tmf') {
      const t = req.right;
      const lun = V.decodeVirtioScsiLun(t.lun);
      const target = lun.kind === 'lu' ? lun.target : -1;
      const l = lun.kind === 'lu' ? lun.lun : -1;
      response = this.opts.tmf ? this.opts.tmf(t.subtype, target, l, t.tag) : V.VIRTIO_SCSI_S_FUNCTION_COMPLETE;
      if (response !== 'hang' && (response === V.VIRTIO_SCSI_S_FUNCTION_COMPLETE || response === V.VIRTIO_SCSI_S_FUNCTION_SUCCEEDED)) {
        // Cancel what the TMF covers: the task (ABORT TASK) or the LU's tasks (resets).
        const hit = this.opts.tmfKeepsTasks ? [] : this.pending.filter((p) => p.target === target && (t.subtype === V.VIRTIO_SCSI_T_TMF_ABORT_TASK ? p.tag === t.tag : p.lun === l || t.subtype === V.VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET));
        for (const p of hit) {
          p.done = true;
          this.pending.splice(this.pending.indexOf(p), 1);
          const respBytes = R.encodeVirtioScsiCmdResp(R.cmdResp({ response: V.VIRTIO_SCSI_S_ABORTED, status: 0, resid: 0 }), 96);
          this.scatter(p.chain.in, respBytes);
          this.push(p.q, p.chain.head, respBytes.length);
        }
      }
    }
    if (response === 'hang') return;
    const r = response;
    this.k.sim.after(this.opts.latencyNs, () => {
      this.scatter(c.in, Uint8Array.of(r));
      this.push(V.VIRTIO_SCSI_VQ_CONTROL, c.head, 1);
    });
  }

  /** Post an event (virtio_scsi_push_event); with no buffer, remember that one was missed. */
  pushEvent(ev: Omit<R.VirtioScsiEvent, 'eventsMissed'>): boolean {
    const c = this.eventBufs.shift();
    if (!c) {
      this.missed = true;
      return false;
    }
    this.scatter(c.in, R.encodeVirtioScsiEvent({ ...ev, eventsMissed: this.missed }));
    this.missed = false;
    this.push(V.VIRTIO_SCSI_VQ_EVENT, c.head, V.VIRTIO_SCSI_EVENT_SIZE);
    return true;
  }

  /** Event buffers the driver has posted and the device holds. */
  get eventBuffers(): number {
    return this.eventBufs.length;
  }

  /** Raw bytes into the next event buffer (for fuzzing the driver's event handling). */
  pushRawEvent(bytes: Uint8Array): boolean {
    const c = this.eventBufs.shift();
    if (!c) return false;
    this.scatter(c.in, bytes);
    this.push(V.VIRTIO_SCSI_VQ_EVENT, c.head, bytes.length);
    return true;
  }
}

export interface Booted<T extends ScsiResponder = FakeScsiTarget> {
  tk: TestKernel;
  dev: FakeVirtioScsiDevice;
  drv: VirtioScsiDriver;
  target: T;
}

export interface BootOptions extends FakeVirtioScsiOptions {
  cpus?: number;
  hostHandlesTimeouts?: boolean;
  /** Between probe and scan (attach sd here). */
  beforeScan?: (drv: VirtioScsiDriver, k: GuestKernel) => void;
  /** A test kernel to boot on (default: a fresh one). */
  kernel?: TestKernel;
}

/** A test kernel, the fake device, probe and scan on CPU 0, run until the scan is done. */
export function bootScsi<T extends ScsiResponder>(target: T, o: BootOptions = {}): Booted<T> {
  const tk = o.kernel ?? testKernel(o.cpus ?? 1);
  const dev = new FakeVirtioScsiDevice(tk.kernel, target, o);
  let drv: VirtioScsiDriver | undefined;
  let scanned = false;
  tk.kernel.cpus[0].schedule('boot', () => {
    const d = VirtioScsiDriver.probe(tk.kernel, dev, 0, { hostHandlesTimeouts: o.hostHandlesTimeouts });
    if ('_tag' in d) throw new Error(`probe: ${d._tag}`);
    drv = d;
    o.beforeScan?.(d, tk.kernel);
    d.scan(() => (scanned = true));
  });
  tk.sim.run({ stop: () => scanned, until: 100e9 });
  if (!scanned || drv === undefined) throw new Error('scan did not finish');
  return { tk, dev, drv, target };
}

export interface SdBooted<T extends ScsiResponder = FakeScsiTarget> extends Booted<T> {
  sd: SdDriver;
}

/** A host with sd attached, over any responder. */
export function bootSdOver<T extends ScsiResponder>(target: T, o: BootOptions = {}): SdBooted<T> {
  let sd: SdDriver | undefined;
  const b = bootScsi(target, {
    ...o,
    beforeScan: (drv, k) => {
      sd = new SdDriver(k);
      sd.attach(drv.host);
    },
  });
  return { ...b, sd: sd! };
}

/** A host with sd attached; LUNs as [target, lun, options]. */
export function bootSd(luns: [number, number, FakeLunOptions?][], o: BootOptions = {}, setup?: (t: FakeScsiTarget) => void): SdBooted {
  const t = new FakeScsiTarget();
  for (const [tg, l, lo] of luns) t.addLun(tg, l, lo);
  setup?.(t);
  return bootSdOver(t, o);
}

/** Submit one bio to /dev/`name` from task 0 and run until it completes (or `limitNs` passes). */
export function bio(b: SdBooted<ScsiResponder>, name: string, x: Bio, limitNs = 600e9): BlkStatus | 'pending' {
  const h = b.sd.disks.get(name);
  if (!h) throw new Error(`no disk ${name}`);
  let st: BlkStatus | undefined;
  b.tk.tasks[0].run('io', () => void h.bdev.submitBio(b.tk.tasks[0], x).subscribe((s) => (st = s)));
  b.tk.sim.run({ stop: () => st !== undefined, until: b.tk.sim.now + limitNs });
  return st ?? 'pending';
}
