/**
 * A virtio-scsi response as a SCSI result, in one place (Linux drivers/scsi/virtio_scsi.c
 * virtscsi_complete_cmd, 6.x): the SAM status as it came, the residual capped at the
 * buffer length, the response code as a host byte, and the sense bytes (at most the 96
 * the driver set as sense_size). Any bytes the device wrote give a result; none throws.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestMemory } from '../../../hw/memory.js';
import { SCSI_SENSE_BUFFERSIZE } from '../../../hw/scsi/sense.js';
import * as S from '../../../hw/scsi/status.js';
import * as V from '../../../hw/virtio/scsi.js';
import { decodeVirtioScsiCmdResp, pageOffset, type VirtioScsiCmdResp } from '../../../hw/virtio/scsi-req.js';
import { setSense, type ScsiCmnd } from '../../scsi/cmnd.js';

/** The host byte for a response code; NEXUS_FAILURE is a status instead (reservation conflict). */
export function virtscsiHostByte(response: number): number {
  switch (response) {
    case V.VIRTIO_SCSI_S_OK:
      return S.DID_OK;
    case V.VIRTIO_SCSI_S_OVERRUN:
      return S.DID_ERROR;
    case V.VIRTIO_SCSI_S_ABORTED:
      return S.DID_ABORT;
    case V.VIRTIO_SCSI_S_BAD_TARGET:
    case V.VIRTIO_SCSI_S_TARGET_FAILURE:
      return S.DID_BAD_TARGET;
    case V.VIRTIO_SCSI_S_RESET:
      return S.DID_RESET;
    case V.VIRTIO_SCSI_S_BUSY:
      return S.DID_BUS_BUSY;
    case V.VIRTIO_SCSI_S_TRANSPORT_FAILURE:
      return S.DID_TRANSPORT_DISRUPTED;
    case V.VIRTIO_SCSI_S_NEXUS_FAILURE:
      return S.DID_OK;
    default: // "Unknown response", then as FAILURE
      return S.DID_ERROR;
  }
}

/** virtscsi_complete_cmd: fill in the command's result from the decoded response. */
export function virtscsiApplyResponse(cmd: ScsiCmnd, resp: VirtioScsiCmdResp): void {
  cmd.status = resp.status;
  if (resp.resid) cmd.resid = Math.min(resp.resid, cmd.bufflen);
  cmd.hostByte = virtscsiHostByte(resp.response);
  if (resp.response === V.VIRTIO_SCSI_S_NEXUS_FAILURE) cmd.status = S.SAM_STAT_RESERVATION_CONFLICT;
  if (resp.senseLen) setSense(cmd, resp.sense.subarray(0, Math.min(resp.senseLen, SCSI_SENSE_BUFFERSIZE)));
}

/** The response bytes (12 + sense_size) as the device left them. */
export function virtscsiCompleteFromBytes(cmd: ScsiCmnd, bytes: Uint8Array): void {
  const r = decodeVirtioScsiCmdResp(bytes, SCSI_SENSE_BUFFERSIZE);
  if (E.isRight(r)) virtscsiApplyResponse(cmd, r.right);
  else cmd.hostByte = S.DID_ERROR;
}

/**
 * virtscsi_complete_cmd reading the response where the device left it (struct
 * virtio_scsi_cmd_resp at `addr`: sense_len, resid, status_qualifier, status, response,
 * then sense[`senseSize`]), field by field as the driver reads the struct: the same result
 * as virtscsiCompleteFromBytes over those bytes, without copying the whole response.
 */
export function virtscsiCompleteFromMem(cmd: ScsiCmnd, mem: GuestMemory, addr: number, senseSize: number): void {
  // The 12-byte header from its page when it lies in one (the driver's area is 64-byte aligned: it does).
  const page = mem.pageForRead(addr, V.VIRTIO_SCSI_CMD_RESP_HDR_SIZE);
  const o = pageOffset(addr);
  const senseLen = page === undefined ? mem.read32(addr) : le32(page, o);
  const resid = page === undefined ? mem.read32(addr + 4) : le32(page, o + 4);
  const response = page === undefined ? mem.read8(addr + 11) : page[o + 11];
  cmd.status = page === undefined ? mem.read8(addr + 10) : page[o + 10];
  if (resid) cmd.resid = Math.min(resid, cmd.bufflen);
  cmd.hostByte = virtscsiHostByte(response);
  if (response === V.VIRTIO_SCSI_S_NEXUS_FAILURE) cmd.status = S.SAM_STAT_RESERVATION_CONFLICT;
  const n = Math.min(senseLen, senseSize, SCSI_SENSE_BUFFERSIZE);
  if (senseLen) setSense(cmd, mem.read(addr + V.VIRTIO_SCSI_CMD_RESP_HDR_SIZE, n));
}

/** A little-endian u32 at `o`. */
const le32 = (p: Uint8Array, o: number): number => (p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)) >>> 0;
