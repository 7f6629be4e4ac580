/**
 * READ and WRITE (6/10/12/16) and WRITE AND VERIFY (10/12/16): QEMU's scsi_disk_dma_reqops
 * (hw/scsi/scsi-disk.c scsi_disk_dma_command, scsi_read_data, scsi_write_data and their
 * completions), on the scatter-gather path an HBA like virtio-scsi uses.
 *
 * The command is checked first (no medium, write protection, RDPROTECT/WRPROTECT bits
 * with SCSI version > 2 → INVALID FIELD, the range against the last LBA → LBA OUT OF
 * RANGE); a transfer of 0 blocks completes GOOD at once. The data then moves between the
 * HBA's buffer and the drive in one pass, as backend requests of at most DMA_CHUNK bytes
 * issued one after another (QEMU's dma_blk_io maps and submits the list in pieces too).
 *
 * Moving the data costs copy.byte per byte, as virtio-blk's does.
 *
 * One object per command (QEMU's SCSIDiskReq): its backend callback and the continuation
 * that runs on the device's context are made once, not per backend request.
 *
 * FUA (the FUA bit of READ/WRITE 10/12/16, and every WRITE AND VERIFY) is emulated as QEMU
 * does: a flush before the read, or after the write. With the write cache off every write
 * is written through (FUA to the drive).
 */
import { SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import type { BlockIoError, WriteFlags } from '../../storage/block-backend-api.js';
import { dataCdbXfer } from '../scsi-bus/cdb.js';
import * as op from '../scsi-bus/defs.js';
import type { ScsiReqHandler, ScsiRequest } from '../scsi-bus/request.js';
import { handleRwError } from './errors.js';
import { available, lbaRangeOk, writable, type Continuation, type ScsiDiskState } from './state.js';

/** Largest backend request one command's data is split into. */
export const DMA_CHUNK = 4 * 1024 * 1024;

/** scsi_is_cmd_fua. */
function isCmdFua(cdb: Uint8Array): boolean {
  switch (cdb[0]) {
    case op.READ_10:
    case op.READ_12:
    case op.READ_16:
    case op.WRITE_10:
    case op.WRITE_12:
    case op.WRITE_16:
      return (cdb[1] & 8) !== 0;
    case op.WRITE_VERIFY_10:
    case op.WRITE_VERIFY_12:
    case op.WRITE_VERIFY_16:
      return true;
    default:
      return false;
  }
}

const NO_MEDIUM: BlockIoError = { errno: 'ENOMEDIUM', message: 'No medium found' };

/** Finished handlers a disk keeps for its next commands (more than a queue's worth are rarely out at once). */
const SPARE_MAX = 256;

/**
 * The handler for a READ/WRITE command: a finished one of this disk's made ready again, or
 * a new one. QEMU allocates its SCSIDiskReq per request; reusing them changes nothing the
 * guest or the trace sees, only what the simulator allocates per command.
 */
export function dmaHandler(s: ScsiDiskState, req: ScsiRequest): ScsiReqHandler {
  const spare = s.dmaSpare as DmaReq[];
  return (spare.pop() ?? new DmaReq(s)).init(req);
}

const CACHED: WriteFlags = { fua: false };
const FUA: WriteFlags = { fua: true };

/** What the outstanding backend request was for. */
type Phase = 'chunk' | 'flush-then-transfer' | 'flush-then-good';

/**
 * One READ/WRITE command's state (QEMU's SCSIDiskReq). Once its request has completed (or
 * finished canceling) it goes back to the disk's spares: its request never calls it again
 * then (continue, cancel and resumeRetry all stop at a completed or canceled request).
 */
class DmaReq implements ScsiReqHandler, Continuation {
  /** Once its request has completed it touches it no more (the HBA may give the request to another command). */
  readonly releasesRequest = true;
  private req!: ScsiRequest;
  private cdb!: Uint8Array;
  private isWrite = false;
  /** In 512-byte sectors, as QEMU's SCSIDiskReq. */
  private sector = 0;
  private sectorCount = 0;
  private needFua = false;
  private started = false;
  /** A backend request is outstanding (a cancel must wait for it). */
  private inFlight = false;
  private phase: Phase = 'chunk';
  /** The transfer: bytes in all, its byte offset on the drive, bytes done, the chunk out. */
  private total = 0;
  private base = 0;
  private at = 0;
  private n = 0;
  /** The outstanding request's outcome, kept until the continuation runs on the device's context. */
  private err: BlockIoError | null = null;
  private data: Uint8Array | undefined = undefined;

  constructor(private readonly s: ScsiDiskState) {}

  /** Ready for `req`: every field as a new handler has it. */
  init(req: ScsiRequest): this {
    this.req = req;
    const cdb = req.cmd.buf;
    this.cdb = cdb;
    const c = cdb[0];
    this.isWrite = c !== op.READ_6 && c !== op.READ_10 && c !== op.READ_12 && c !== op.READ_16;
    this.sector = 0;
    this.sectorCount = 0;
    this.needFua = false;
    this.started = false;
    this.inFlight = false;
    this.phase = 'chunk';
    this.total = 0;
    this.base = 0;
    this.at = 0;
    this.n = 0;
    this.err = null;
    this.data = undefined;
    return this;
  }

  /** The backend's callback: run the continuation on the device's context (scsi_disk_req_check_error first). */
  private readonly backendDone = (err: BlockIoError | null, data?: Uint8Array | void): void => {
    this.err = err;
    this.data = data ?? undefined;
    this.s.done(this);
  };

  /** The request is complete (or finished canceling): keep this handler for another command. */
  private release(): void {
    const spare = this.s.dmaSpare as DmaReq[];
    if (spare.length < SPARE_MAX) spare.push(this);
  }

  /** scsi_req_complete with GOOD, then back to the spares. */
  private good(): void {
    this.req.complete(SAM_STAT_GOOD);
    this.release();
  }

  sendCommand(): number {
    const { s, req, cdb } = this;
    if (!available(s)) return this.fail(op.SENSE.NO_MEDIUM);
    const len = dataCdbXfer(cdb);
    const lba = req.cmd.lba;
    if (this.isWrite && !writable(s)) return this.fail(op.SENSE.WRITE_PROTECTED);
    // Protection information is not supported (RDPROTECT / WRPROTECT) from SCSI-3 on.
    if (s.conf.scsi_version > 2 && cdb[1] & 0xe0) return this.fail(op.SENSE.INVALID_FIELD);
    if (!lbaRangeOk(s, lba, len)) return this.fail(op.SENSE.LBA_OUT_OF_RANGE);
    const per = s.blocksize / 512;
    this.sector = lba * per;
    this.sectorCount = len * per;
    this.needFua = isCmdFua(cdb);
    if (this.sectorCount === 0) {
      this.good();
      return 0;
    }
    return this.isWrite ? -this.sectorCount * 512 : this.sectorCount * 512;
  }

  continue(): void {
    if (this.req.cmd.mode === 'to-dev') this.writeData();
    else this.readData();
  }

  cancelIo(): boolean {
    return this.inFlight;
  }

  private fail(sense: op.SenseCode): number {
    this.req.checkCondition(sense);
    this.release();
    return 0;
  }

  private flush(then: Phase): void {
    this.phase = then;
    this.inFlight = true;
    this.s.backend!.flush(this.backendDone);
  }

  /** A backend request came back (Continuation.resume, on the device's context): a cancel, the error policy, then go on. */
  resume(): void {
    const { req, err, data } = this;
    this.inFlight = false;
    this.err = null;
    this.data = undefined;
    if (req.ioCanceled) {
      req.cancelComplete();
      this.release();
      return;
    }
    // An ignored error goes on as if it had worked; a transfer ends there (dma_blk_io stops at the first error).
    if (err !== null && handleRwError(this.s, req, err)) return;
    switch (this.phase) {
      case 'flush-then-transfer':
        return this.transfer();
      case 'flush-then-good':
        return this.good();
      case 'chunk':
        if (err !== null) return this.complete();
        if (!this.isWrite && data) {
          req.dmaWrite(this.at, data.subarray(0, this.n));
          this.s.sim.advance(this.s.copyByteNs * this.n);
        }
        this.at += this.n;
        return this.step();
    }
  }

  /** Move all the data, chunk by chunk, then complete. */
  private transfer(): void {
    const req = this.req;
    this.total = this.sectorCount * 512;
    this.base = this.sector * 512;
    this.at = 0;
    req.residual = req.dataSize - Math.min(req.dataSize, this.total);
    this.step();
  }

  private step(): void {
    const { s, at } = this;
    if (at >= this.total) return this.complete();
    const n = Math.min(DMA_CHUNK, this.total - at);
    this.n = n;
    this.phase = 'chunk';
    this.inFlight = true;
    if (this.isWrite) {
      const buf = this.req.dmaOut(at, n);
      s.sim.advance(s.copyByteNs * n);
      s.backend!.write(this.base + at, buf, s.wce ? CACHED : FUA, this.backendDone);
    } else s.backend!.read(this.base + at, n, this.backendDone);
  }

  private complete(): void {
    this.sector += this.sectorCount;
    this.sectorCount = 0;
    if (this.isWrite && this.needFua) this.flush('flush-then-good');
    else this.good();
  }

  private readData(): void {
    if (this.sectorCount === 0) return this.good();
    if (!available(this.s)) {
      if (!handleRwError(this.s, this.req, NO_MEDIUM)) this.complete();
      return;
    }
    const first = !this.started;
    this.started = true;
    if (first && this.needFua) this.flush('flush-then-transfer');
    else this.transfer();
  }

  private writeData(): void {
    if (!available(this.s)) {
      if (!handleRwError(this.s, this.req, NO_MEDIUM)) this.complete();
      return;
    }
    this.started = true;
    // A retry after the data was written and only the FUA flush failed: flush again.
    // (QEMU would write the buffer again past the command's range.)
    if (this.sectorCount === 0) {
      if (this.needFua) this.flush('flush-then-good');
      else this.good();
      return;
    }
    this.transfer();
  }
}
