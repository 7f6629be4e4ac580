/**
 * The guest's virtio-blk driver (Linux drivers/block/virtio_blk.c): probe, one blk-mq
 * hardware queue per virtqueue, requests built as [header][data][status], a kick only on
 * the last request of a batch, and completion in the interrupt handler with the
 * disable / drain / re-enable loop. Device status becomes block status in exactly one
 * place, `virtblkResult`.
 */
import type { SgElem } from '../../hw/memory.js';
import * as B from '../../hw/virtio/blk.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_MSI_NO_VECTOR, featureBits, hasFeature, type Features } from '../../hw/virtio/constants.js';
import { BlkMq } from '../blockdev/blk-mq.js';
import type { BlkMqOps, BlkRequest, BlkStatus } from '../blockdev/request.js';
import { diskName } from '../blockdev/disk-name.js';
import type { GuestKernel } from '../kernel/kernel.js';
import { DriverVirtqueue } from './virtqueue.js';
import type { VirtioPciTransport, VirtioProbeError } from './virtio-pci.js';
import { VIRTIO_PCI_ISR_QUEUE } from '../../hw/virtio/pci-layout.js';

/** What this driver knows how to use (virtio_blk.c `features[]`). */
export const VIRTIO_BLK_DRIVER_FEATURES: Features = featureBits(
  VIRTIO_F_VERSION_1,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  B.VIRTIO_BLK_F_SEG_MAX,
  B.VIRTIO_BLK_F_GEOMETRY,
  B.VIRTIO_BLK_F_RO,
  B.VIRTIO_BLK_F_BLK_SIZE,
  B.VIRTIO_BLK_F_FLUSH,
  B.VIRTIO_BLK_F_TOPOLOGY,
  B.VIRTIO_BLK_F_CONFIG_WCE,
  B.VIRTIO_BLK_F_MQ,
  B.VIRTIO_BLK_F_DISCARD,
  B.VIRTIO_BLK_F_WRITE_ZEROES,
);

/** The one place device status becomes block status (virtblk_result). */
export function virtblkResult(status: number): BlkStatus {
  switch (status) {
    case B.VIRTIO_BLK_S_OK:
      return 'ok';
    case B.VIRTIO_BLK_S_UNSUPP:
      return 'notsupp';
    default:
      return 'ioerr';
  }
}

/** virtblk_name_format("vd", index): vda … vdz, vdaa … */
export function virtblkName(index: number): string {
  return diskName('vd', index);
}

export interface DiskInfo {
  name: string;
  capacitySectors: number;
  logicalBlockSize: number;
  physicalBlockSize: number;
  readOnly: boolean;
  /** The device has a volatile write cache (flushes mean something). */
  writeCache: boolean;
  maxSegments: number;
  features: Features;
  nrHwQueues: number;
  queueDepth: number;
  /** 'msix' with per-queue vectors, 'msix-shared', or 'intx'. */
  irqMode: 'msix' | 'msix-shared' | 'intx';
}

/** Per-tag request memory (Linux's struct virtblk_req in the request PDU). */
interface Pdu {
  hdr: number;
  status: number;
  payload: number;
  /** The header and status buffers as sg entries, made once. */
  hdrSg: SgElem[];
  statusSg: SgElem;
  /** Scratch lists for building a chain (addSgs reads them at once and keeps nothing). */
  out: SgElem[];
  inb: SgElem[];
}

const OP_TYPE = {
  read: B.VIRTIO_BLK_T_IN,
  write: B.VIRTIO_BLK_T_OUT,
  flush: B.VIRTIO_BLK_T_FLUSH,
  'get-id': B.VIRTIO_BLK_T_GET_ID,
  discard: B.VIRTIO_BLK_T_DISCARD,
  'write-zeroes': B.VIRTIO_BLK_T_WRITE_ZEROES,
} as const;

export class VirtioBlkDriver implements BlkMqOps {
  readonly blk: BlkMq;
  private readonly pdus: Pdu[][];
  /* Costs charged per request, looked up once. */
  private readonly queueRqNs: number;
  private readonly getBufNs: number;
  private readonly irqEntryNs: number;

  private constructor(
    private readonly k: GuestKernel,
    private readonly t: VirtioPciTransport,
    readonly disk: DiskInfo,
    private readonly vqs: DriverVirtqueue<BlkRequest>[],
    private readonly doorbells: number[],
  ) {
    this.blk = new BlkMq(k.sim, k.trace, k.costs, {
      clock: k.clock,
      name: disk.name,
      nrHwQueues: vqs.length,
      queueDepth: disk.queueDepth,
      cpuToHwq: (cpu) => cpu % vqs.length,
    });
    this.blk.setOps(this);
    this.queueRqNs = k.costs.ns('guest.virtio-blk.queue_rq');
    this.getBufNs = k.costs.ns('guest.vq.get_buf');
    this.irqEntryNs = k.costs.ns('guest.irq.entry');
    this.pdus = vqs.map(() => Array.from({ length: disk.queueDepth }, () => {
      const a = k.alloc.alloc(64, 64);
      return { hdr: a, payload: a + 16, status: a + 32, hdrSg: [{ addr: a, len: B.VIRTIO_BLK_OUTHDR_SIZE }], statusSg: { addr: a + 32, len: 1 }, out: [], inb: [] };
    }));
  }

  /** virtblk_probe. Runs on a vCPU during boot. */
  static probe(k: GuestKernel, t: VirtioPciTransport, index: number): VirtioBlkDriver | VirtioProbeError {
    const features = t.negotiate(VIRTIO_BLK_DRIVER_FEATURES);
    if (typeof features !== 'bigint') return features;
    const has = (b: number): boolean => hasFeature(features, b);
    const eventIdx = has(VIRTIO_F_EVENT_IDX);
    const indirect = has(VIRTIO_F_INDIRECT_DESC);
    const numQueues = has(B.VIRTIO_BLK_F_MQ) ? t.readConfig(B.VIRTIO_BLK_CFG_NUM_QUEUES, 2) || 1 : 1;
    const nvqs = Math.max(1, Math.min(numQueues, k.cpus.length));
    const capacitySectors = t.readConfig(B.VIRTIO_BLK_CFG_CAPACITY, 4) + t.readConfig(B.VIRTIO_BLK_CFG_CAPACITY + 4, 4) * 0x1_0000_0000;
    const blkSize = has(B.VIRTIO_BLK_F_BLK_SIZE) ? t.readConfig(B.VIRTIO_BLK_CFG_BLK_SIZE, 4) || 512 : 512;
    const physExp = has(B.VIRTIO_BLK_F_TOPOLOGY) ? t.readConfig(B.VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, 1) : 0;
    const segMax = has(B.VIRTIO_BLK_F_SEG_MAX) ? t.readConfig(B.VIRTIO_BLK_CFG_SEG_MAX, 4) || 1 : 1;
    const writeCache = has(B.VIRTIO_BLK_F_CONFIG_WCE) ? t.readConfig(B.VIRTIO_BLK_CFG_WRITEBACK, 1) !== 0 : has(B.VIRTIO_BLK_F_FLUSH);

    // Interrupts: per-queue MSI-X vectors, else one shared queue vector, else INTx (vp_find_vqs).
    const irqMode: DiskInfo['irqMode'] = t.msixVectors >= nvqs + 1 ? 'msix' : t.msixVectors >= 2 ? 'msix-shared' : 'intx';
    const vqs: DriverVirtqueue<BlkRequest>[] = [];
    const doorbells: number[] = [];
    let driver: VirtioBlkDriver | undefined;
    const onQueue = (i: number) => () => driver?.vqDone(i);
    const onShared = () => () => driver?.allVqsDone(false);
    let sharedVector = -1;
    if (irqMode !== 'intx') {
      const configVec = k.idt.requestIrq(() => undefined);
      t.programMsix(0, 0, configVec);
      if (irqMode === 'msix-shared') t.programMsix(1, 0, (sharedVector = k.idt.requestIrq(onShared())));
      t.enableMsix();
      t.setConfigVector(0);
    } else {
      const vec = k.idt.requestIrq(() => driver?.allVqsDone(true));
      k.routeIoapicPin(t.fn.irqLine, vec, 0);
    }
    const descNs = k.costs.ns('guest.vq.add-desc');
    for (let i = 0; i < nvqs; i++) {
      const size = t.queueMaxSize(i);
      const vq = new DriverVirtqueue<BlkRequest>(k.mem, k.alloc, i, size, {
        eventIdx,
        indirect,
        chargeDescs: (n) => k.sim.advance(n * descNs),
        notify: () => t.notify(k.current.port, doorbells[i], i),
      });
      let entry = VIRTIO_MSI_NO_VECTOR;
      if (irqMode === 'msix') {
        entry = i + 1;
        t.programMsix(entry, i % k.cpus.length, k.idt.requestIrq(onQueue(i)));
      } else if (irqMode === 'msix-shared') entry = 1;
      const r = t.setupQueue(i, vq.ring, size, entry);
      if ('_tag' in r) return r;
      vqs.push(vq);
      doorbells.push(r.notifyAddr);
    }
    void sharedVector;
    t.driverOk();
    const queueDepth = indirect ? vqs[0].size : Math.max(1, vqs[0].size >> 1);
    const disk: DiskInfo = {
      name: virtblkName(index),
      capacitySectors,
      logicalBlockSize: blkSize,
      physicalBlockSize: blkSize << physExp,
      readOnly: has(B.VIRTIO_BLK_F_RO),
      writeCache,
      maxSegments: Math.min(segMax, 32766),
      features,
      nrHwQueues: nvqs,
      queueDepth,
      irqMode,
    };
    driver = new VirtioBlkDriver(k, t, disk, vqs, doorbells);
    return driver;
  }

  /** virtio_queue_rq: build the request's chain, add it, kick if it is the last of the batch. */
  queueRq(hwq: number, rq: BlkRequest, last: boolean): BlkStatus {
    const { mem, sim, trace } = this.k;
    sim.advance(this.queueRqNs);
    const vq = this.vqs[hwq];
    const pdu = this.pdus[hwq][rq.tag];
    const type = OP_TYPE[rq.op];
    B.writeOutHdr(mem, pdu.hdr, { type, ioprio: 0, sector: rq.op === 'flush' || rq.op === 'get-id' ? 0 : rq.sector });
    mem.write8(pdu.status, 0xff);
    // Filled by index and cut to length: emptying an array first would drop its backing store.
    const out = pdu.out;
    const inb = pdu.inb;
    const sg = rq.sg;
    let nOut = 1;
    let nIn = 0;
    out[0] = pdu.hdrSg[0];
    if (rq.op === 'write') for (let i = 0; i < sg.length; i++) out[nOut++] = sg[i];
    else if (rq.op === 'read' || rq.op === 'get-id') for (let i = 0; i < sg.length; i++) inb[nIn++] = sg[i];
    else if (rq.op === 'discard' || rq.op === 'write-zeroes') {
      const flags = rq.op === 'write-zeroes' && rq.unmap ? B.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
      mem.write(pdu.payload, B.encodeDwzSegments([{ sector: rq.sector, numSectors: rq.sectors, flags }]));
      out[nOut++] = { addr: pdu.payload, len: B.VIRTIO_BLK_DWZ_SEG_SIZE };
    }
    inb[nIn++] = pdu.statusSg;
    if (out.length !== nOut) out.length = nOut;
    if (inb.length !== nIn) inb.length = nIn;
    if (!vq.addSgs(out, inb, rq)) {
      // -ENOSPC: the ring is full; blk-mq stops the queue and retries after a completion.
      if (vq.isBroken()) return 'ioerr';
      return 'resource';
    }
    if (last) {
      const notify = vq.kickPrepare();
      if (trace.active) trace.emitKick(sim.now, this.disk.name, hwq, notify);
      if (notify) vq.notify();
    }
    return 'ok';
  }

  /** virtio_commit_rqs: the batch ended early; kick what was queued. */
  commitRqs(hwq: number): void {
    const vq = this.vqs[hwq];
    const notify = vq.kickPrepare();
    if (this.k.trace.active) this.k.trace.emitKick(this.k.sim.now, this.disk.name, hwq, notify);
    if (notify) vq.notify();
  }

  /** virtblk_done: drain the used ring with callbacks disabled, re-enable, re-check. */
  vqDone(hwq: number): void {
    const { mem, sim } = this.k;
    const vq = this.vqs[hwq];
    sim.advance(this.irqEntryNs);
    do {
      vq.disableCb();
      for (let b = vq.getBuf(); b; b = vq.getBuf()) {
        sim.advance(this.getBufNs);
        const rq = b.token;
        rq.resultLen = Math.max(0, b.len - 1);
        this.blk.complete(rq, virtblkResult(mem.read8(this.pdus[hwq][rq.tag].status)));
      }
      if (vq.isBroken()) break;
    } while (!vq.enableCb());
    this.blk.startStoppedQueues();
  }

  /** A shared vector or INTx: (read the ISR, then) service every queue (vp_interrupt / vp_vring_interrupt). */
  allVqsDone(intx: boolean): void {
    if (intx && !(this.t.readIsr(this.k.current.port) & VIRTIO_PCI_ISR_QUEUE)) return;
    this.vqs.forEach((vq, i) => {
      if (vq.moreUsed()) this.vqDone(i);
    });
  }
}
