/**
 * Test rig for virtio-scsi: the device over real split rings in guest memory, driven from
 * the driver side by hand with `MockSplitQueue` (host/devices/virtio/test-utils.ts), one
 * ring per queue (0 control, 1 event, 2.. requests), and scsi-hd / scsi-cd devices on
 * memory drives. The device errors it reports stop every queue, as the transport would.
 *
 *   const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
 *   const c = r.command({ target: 0, lun: 0, cdb: inquiry(36), dataIn: 36 });
 *   r.kick(2);
 *   r.response(c)   // { response: 0, status: 0, resid: 0, sense: ..., data: ... }
 */
import * as E from 'fp-ts/lib/Either.js';
import { GuestMemory } from '../../../hw/memory.js';
import { VIRTIO_F_ANY_LAYOUT, VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_VERSION_1, type Features } from '../../../hw/virtio/constants.js';
import { VIRTIO_SCSI_CMD_RESP_HDR_SIZE, VIRTIO_SCSI_EVENT_SIZE, encodeVirtioScsiLun } from '../../../hw/virtio/scsi.js';
import {
  decodeVirtioScsiCmdResp,
  decodeVirtioScsiEvent,
  encodeVirtioScsiCmdReq,
  encodeVirtioScsiCtrlReq,
  type VirtioScsiCmdResp,
  type VirtioScsiEvent,
} from '../../../hw/virtio/scsi-req.js';
import { ExecutionContext } from '../../../sim/context.js';
import { Recorder } from '../../../sim/trace.js';
import type { BlockBackendApi } from '../../storage/block-backend-api.js';
import type { BlockEnv } from '../../storage/driver.js';
import { memoryDrive, newBlockEnv } from '../../storage/testing.js';
import { SENSE } from '../scsi-bus/defs.js';
import { createScsiDisk, type ScsiDisk } from '../scsi-disk/device.js';
import { MockSplitQueue, standaloneQueue } from '../virtio/test-utils.js';
import type { SplitVirtqueue } from '../virtio/virtqueue.js';
import { createVirtioScsi, type VirtioScsi } from './device.js';
import type { VirtioScsiProps } from './props.js';

export interface DiskSpec {
  readonly id: number;
  readonly lun: number;
  readonly kind?: 'scsi-hd' | 'scsi-cd';
  /** Bytes (default 1 MiB). */
  readonly size?: number;
  /** Wrap the drive (fault injection, slow drives). */
  readonly wrap?: (b: BlockBackendApi, env: BlockEnv) => BlockBackendApi;
}

export interface ScsiRigOptions {
  readonly props?: Partial<VirtioScsiProps>;
  readonly disks?: readonly DiskSpec[];
  /** Features the driver accepts; default every offered bit a modern driver can see. */
  readonly accept?: (offered: Features) => Features;
  /** Keep the RESET unit attention the disks get when they join the bus (default: cleared). */
  readonly keepUa?: boolean;
  /** Skip DRIVER_OK (start). */
  readonly noStart?: boolean;
  readonly ctxKind?: 'main-loop' | 'iothread';
}

export interface BuiltCmd {
  readonly head: number;
  readonly q: number;
  readonly respAddr: number;
  readonly respLen: number;
  readonly inAddr: number;
  readonly inLen: number;
}

export interface CmdOptions {
  readonly target: number;
  readonly lun: number;
  readonly cdb: Uint8Array;
  readonly tag?: bigint;
  readonly dataOut?: Uint8Array;
  /** Data-in buffer size. */
  readonly dataIn?: number;
  /** Request queue index (default 2). */
  readonly q?: number;
  /** Raw LUN bytes instead of target/lun. */
  readonly lunBytes?: Uint8Array;
}

const QUEUE_SPAN = 0x100000;
const le32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);

export class ScsiRig {
  readonly env: BlockEnv;
  readonly rec = new Recorder();
  readonly ctx: ExecutionContext;
  readonly mem: GuestMemory;
  readonly hba: VirtioScsi;
  readonly errors: string[] = [];
  readonly drv: MockSplitQueue[];
  readonly vqs: SplitVirtqueue[];
  readonly interrupts: number[][];
  readonly disks: ScsiDisk[] = [];
  readonly drives: BlockBackendApi[] = [];

  constructor(o: ScsiRigOptions = {}) {
    this.env = newBlockEnv();
    const { sim, trace, costs } = this.env;
    trace.attach(this.rec.sink);
    this.ctx = new ExecutionContext(sim, trace, o.ctxKind === 'iothread' ? 'iothread0' : 'main-loop', o.ctxKind ?? 'main-loop');
    const made = createVirtioScsi({ sim, trace, costs, context: this.ctx, devName: 'scsi0', props: o.props, onError: (m) => this.deviceError(m) });
    if (E.isLeft(made)) throw new Error(`test rig: ${JSON.stringify(made.left)}`);
    this.hba = made.right;
    const n = this.hba.numQueues();
    this.mem = new GuestMemory(QUEUE_SPAN * (n + 2));
    const size = this.hba.queueMaxSize(0);
    this.drv = Array.from({ length: n }, (_, i) => new MockSplitQueue(this.mem, { size, base: QUEUE_SPAN * (i + 1) }));
    const queues = this.drv.map((d, i) => standaloneQueue(this.mem, d.ring, { sim, costs, trace, devName: 'scsi0', index: i }));
    this.vqs = queues.map((q) => q.vq);
    this.interrupts = queues.map((q) => q.interrupts);
    for (const d of o.disks ?? []) this.addDisk(d, o.keepUa ?? false);
    const offered = this.hba.hostFeatures() & ~((1n << BigInt(VIRTIO_F_ANY_LAYOUT)) | (1n << BigInt(VIRTIO_F_NOTIFY_ON_EMPTY)));
    this.hba.setFeatures(o.accept ? o.accept(this.hba.hostFeatures()) : offered | (1n << BigInt(VIRTIO_F_VERSION_1)));
    if (!o.noStart) this.hba.start(this.vqs);
  }

  /** A disk on a memory drive, created and cold-plugged (or hot-plugged with `hot`). */
  makeDisk(d: DiskSpec): ScsiDisk {
    const { sim, trace } = this.env;
    const kind = d.kind ?? 'scsi-hd';
    const drive = memoryDrive(this.env, { size: d.size ?? 1024 * 1024 }).blk;
    const backend = d.wrap ? d.wrap(drive, this.env) : drive;
    const made = createScsiDisk({ kind, sim, trace, context: this.ctx, backend, name: `${kind}-${d.id}-${d.lun}`, props: { 'scsi-id': d.id, lun: d.lun } });
    if (E.isLeft(made)) throw new Error(`test rig: ${JSON.stringify(made.left)}`);
    this.drives.push(backend);
    return made.right;
  }

  addDisk(d: DiskSpec, keepUa = false): ScsiDisk {
    const disk = this.makeDisk(d);
    const r = this.hba.plug(disk);
    if (E.isLeft(r)) throw new Error(r.left.message);
    if (!keepUa) disk.common.unitAttention = SENSE.NO_SENSE;
    this.disks.push(disk);
    return disk;
  }

  private deviceError(message: string): void {
    this.errors.push(message);
    for (const q of this.vqs ?? []) q.markBroken(message);
  }

  /** Kick queue `q` (handleOutput on the device context) and run the simulation to the end. */
  kick(q: number): void {
    this.ctx.run('kick', () => this.hba.handleOutput(this.vqs[q]));
    this.env.sim.run();
  }

  /** Lay out a command as Linux's virtio_scsi does: header, data-out | response, data-in; publish it. */
  command(c: CmdOptions): BuiltCmd {
    const q = c.q ?? 2;
    const d = this.drv[q];
    const { cdbSize, senseSize } = this.hba.sizes;
    const lun = c.lunBytes ?? encodeVirtioScsiLun(c.target, c.lun);
    const hdr = encodeVirtioScsiCmdReq({ lun, tag: c.tag ?? 1n, taskAttr: 0, prio: 0, crn: 0, cdb: c.cdb }, cdbSize);
    const respLen = VIRTIO_SCSI_CMD_RESP_HDR_SIZE + senseSize;
    const respAddr = d.alloc(respLen);
    this.mem.write(respAddr, new Uint8Array(respLen).fill(0xee));
    const inLen = c.dataIn ?? 0;
    const inAddr = inLen > 0 ? d.alloc(inLen) : 0;
    const bufs = [{ len: hdr.length, data: hdr }];
    if (c.dataOut && c.dataOut.length > 0) bufs.push({ len: c.dataOut.length, data: c.dataOut });
    const head = d.addChain([...bufs, { len: respLen, write: true, addr: respAddr }, ...(inLen > 0 ? [{ len: inLen, write: true, addr: inAddr }] : [])] as never);
    d.publish(head);
    return { head, q, respAddr, respLen, inAddr, inLen };
  }

  /** A control-queue request: its bytes, then a response buffer of `respLen`. Returns the response address. */
  control(bytes: Uint8Array, respLen: number): { head: number; respAddr: number } {
    const d = this.drv[0];
    const respAddr = d.alloc(Math.max(respLen, 1));
    this.mem.write(respAddr, new Uint8Array(Math.max(respLen, 1)).fill(0xee));
    const head = d.addChain([{ len: bytes.length, data: bytes }, ...(respLen > 0 ? [{ len: respLen, write: true, addr: respAddr }] : [])]);
    d.publish(head);
    return { head, respAddr };
  }

  /** A TMF on the control queue. */
  tmf(subtype: number, target: number, lun: number, tag = 0n): { head: number; respAddr: number } {
    return this.control(encodeVirtioScsiCtrlReq({ kind: 'tmf', subtype, lun: encodeVirtioScsiLun(target, lun), tag }), 1);
  }

  /** Post `n` event buffers on the event queue. */
  eventBuffers(n: number): number[] {
    const d = this.drv[1];
    const addrs: number[] = [];
    for (let i = 0; i < n; i++) {
      const addr = d.alloc(VIRTIO_SCSI_EVENT_SIZE);
      d.publish(d.addChain([{ len: VIRTIO_SCSI_EVENT_SIZE, write: true, addr }]));
      addrs.push(addr);
    }
    return addrs;
  }

  /** What the device put in the used ring of queue `q` since the last look. */
  used(q: number): { id: number; len: number }[] {
    return this.drv[q].takeUsed();
  }

  /** The response header and sense as the driver reads them, and the data-in bytes. */
  response(c: BuiltCmd): VirtioScsiCmdResp & { data: Uint8Array } {
    const r = decodeVirtioScsiCmdResp(this.mem.read(c.respAddr, c.respLen), c.respLen - VIRTIO_SCSI_CMD_RESP_HDR_SIZE);
    if (E.isLeft(r)) throw new Error('short response');
    return { ...r.right, data: c.inLen > 0 ? this.mem.read(c.inAddr, c.inLen) : new Uint8Array(0) };
  }

  event(addr: number): VirtioScsiEvent {
    const r = decodeVirtioScsiEvent(this.mem.read(addr, VIRTIO_SCSI_EVENT_SIZE));
    if (E.isLeft(r)) throw new Error('short event');
    return r.right;
  }

  /** The config space's le32 at `off`. */
  config32(off: number): number {
    return this.hba.readConfig(off, 4);
  }
}

export const makeScsiRig = (o: ScsiRigOptions = {}): ScsiRig => new ScsiRig(o);

export { le32 };
