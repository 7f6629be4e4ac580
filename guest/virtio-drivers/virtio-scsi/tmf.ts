/**
 * Task management over the control queue (virtio_scsi.c virtscsi_tmf, virtscsi_abort,
 * virtscsi_device_reset, virtscsi_ctrl_done): [virtio_scsi_ctrl_tmf_req][tmf_resp], kicked
 * at once. The error handler waits for the answer — as Linux does, without a timeout —
 * and counts FUNCTION COMPLETE (0) or FUNCTION SUCCEEDED as success. The response byte
 * starts at 0, as Linux's zeroed command does, so a device that returns the buffer
 * without writing it is taken at its (empty) word. Then every request queue is drained:
 * the spec says the commands the TMF touched are already back.
 */
import * as V from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiCtrlReq } from '../../../hw/virtio/scsi-req.js';
import type { GuestKernel } from '../../kernel/kernel.js';
import type { ScsiDevice } from '../../scsi/device.js';
import type { EhDone } from '../../scsi/host-template.js';
import type { DriverVirtqueue } from '../virtqueue.js';

export interface CtrlToken {
  area: number;
  answer(response: number): void;
}

const AREA = 32;

export class VirtscsiTmf {
  /** TMFs sent so far, by subtype name (for tests and reports). */
  readonly sent: string[] = [];

  constructor(
    private readonly k: GuestKernel,
    private readonly vq: DriverVirtqueue<CtrlToken>,
    private readonly pollRequests: () => void,
  ) {}

  send(subtype: number, sdev: ScsiDevice, tag: bigint, done: EhDone): void {
    const { mem, alloc, trace, sim } = this.k;
    const area = alloc.alloc(AREA, 32);
    mem.write(area, encodeVirtioScsiCtrlReq({ kind: 'tmf', subtype, lun: V.encodeVirtioScsiLun(sdev.id, sdev.lun), tag }));
    mem.write8(area + V.VIRTIO_SCSI_CTRL_TMF_REQ_SIZE, V.VIRTIO_SCSI_S_OK);
    this.sent.push(V.virtioScsiTmfName(subtype));
    if (trace.active) trace.emit({ kind: 'note', t: sim.now, where: `scsi ${sdev.hctl}`, text: `TMF ${V.virtioScsiTmfName(subtype)} tag ${tag}` });
    const token: CtrlToken = {
      area,
      answer: (response) => {
        alloc.free(area, AREA, 32);
        this.pollRequests();
        done(response === V.VIRTIO_SCSI_S_OK || response === V.VIRTIO_SCSI_S_FUNCTION_SUCCEEDED ? 'success' : 'failed');
      },
    };
    const ok = this.vq.addSgs([{ addr: area, len: V.VIRTIO_SCSI_CTRL_TMF_REQ_SIZE }], [{ addr: area + V.VIRTIO_SCSI_CTRL_TMF_REQ_SIZE, len: V.VIRTIO_SCSI_CTRL_TMF_RESP_SIZE }], token);
    if (!ok) {
      alloc.free(area, AREA, 32);
      return done('failed');
    }
    if (this.vq.kickPrepare()) this.vq.notify();
  }

  /** virtscsi_ctrl_done: drain the control queue, answering each waiter. */
  done(): void {
    const answers: CtrlToken[] = [];
    do {
      this.vq.disableCb();
      for (let b = this.vq.getBuf(); b; b = this.vq.getBuf()) answers.push(b.token);
      if (this.vq.isBroken()) break;
    } while (!this.vq.enableCb());
    for (const t of answers) t.answer(this.k.mem.read8(t.area + V.VIRTIO_SCSI_CTRL_TMF_REQ_SIZE));
  }
}
