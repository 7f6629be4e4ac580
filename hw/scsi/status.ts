/**
 * SCSI status codes (SAM-5 §5.3; Linux include/scsi/scsi_proto.h `enum sam_status`,
 * QEMU include/scsi/constants.h) and the Linux midlayer's host bytes (include/scsi/scsi_status.h
 * `enum scsi_host_status`, formerly include/scsi/scsi.h `DID_*`).
 *
 * The status byte is what the target answers for a command; the host byte is what the
 * initiator's low-level driver reports about the transport (virtio_scsi maps each
 * VIRTIO_SCSI_S_* response to one).
 */

/* SAM status */
export const SAM_STAT_GOOD = 0x00;
export const SAM_STAT_CHECK_CONDITION = 0x02;
export const SAM_STAT_CONDITION_MET = 0x04;
export const SAM_STAT_BUSY = 0x08;
/** Obsolete since SAM-4 (linked commands). */
export const SAM_STAT_INTERMEDIATE = 0x10;
export const SAM_STAT_INTERMEDIATE_CONDITION_MET = 0x14;
export const SAM_STAT_RESERVATION_CONFLICT = 0x18;
/** Obsolete since SAM-3. */
export const SAM_STAT_COMMAND_TERMINATED = 0x22;
export const SAM_STAT_TASK_SET_FULL = 0x28;
export const SAM_STAT_ACA_ACTIVE = 0x30;
export const SAM_STAT_TASK_ABORTED = 0x40;

const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [SAM_STAT_GOOD, 'GOOD'],
  [SAM_STAT_CHECK_CONDITION, 'CHECK CONDITION'],
  [SAM_STAT_CONDITION_MET, 'CONDITION MET'],
  [SAM_STAT_BUSY, 'BUSY'],
  [SAM_STAT_INTERMEDIATE, 'INTERMEDIATE'],
  [SAM_STAT_INTERMEDIATE_CONDITION_MET, 'INTERMEDIATE-CONDITION MET'],
  [SAM_STAT_RESERVATION_CONFLICT, 'RESERVATION CONFLICT'],
  [SAM_STAT_COMMAND_TERMINATED, 'COMMAND TERMINATED'],
  [SAM_STAT_TASK_SET_FULL, 'TASK SET FULL'],
  [SAM_STAT_ACA_ACTIVE, 'ACA ACTIVE'],
  [SAM_STAT_TASK_ABORTED, 'TASK ABORTED'],
]);

/** The status byte's name; an unassigned value is named by its number, never refused. */
export function samStatusName(s: number): string {
  return STATUS_NAMES.get(s) ?? `status(0x${(s & 0xff).toString(16).padStart(2, '0')})`;
}

/* Host bytes (Linux DID_*) */
export const DID_OK = 0x00;
export const DID_NO_CONNECT = 0x01;
export const DID_BUS_BUSY = 0x02;
export const DID_TIME_OUT = 0x03;
export const DID_BAD_TARGET = 0x04;
export const DID_ABORT = 0x05;
export const DID_PARITY = 0x06;
export const DID_ERROR = 0x07;
export const DID_RESET = 0x08;
export const DID_BAD_INTR = 0x09;
export const DID_PASSTHROUGH = 0x0a;
export const DID_SOFT_ERROR = 0x0b;
export const DID_IMM_RETRY = 0x0c;
export const DID_REQUEUE = 0x0d;
export const DID_TRANSPORT_DISRUPTED = 0x0e;
export const DID_TRANSPORT_FAILFAST = 0x0f;
/** Dropped by newer Linux (its virtio_scsi then reports DID_BAD_TARGET); kept for older guests. */
export const DID_TARGET_FAILURE = 0x10;
/** Dropped by newer Linux (its virtio_scsi then reports RESERVATION CONFLICT status). */
export const DID_NEXUS_FAILURE = 0x11;
export const DID_ALLOC_FAILURE = 0x12;
export const DID_MEDIUM_ERROR = 0x13;
export const DID_TRANSPORT_MARGINAL = 0x14;

const HOST_NAMES: readonly string[] = [
  'DID_OK',
  'DID_NO_CONNECT',
  'DID_BUS_BUSY',
  'DID_TIME_OUT',
  'DID_BAD_TARGET',
  'DID_ABORT',
  'DID_PARITY',
  'DID_ERROR',
  'DID_RESET',
  'DID_BAD_INTR',
  'DID_PASSTHROUGH',
  'DID_SOFT_ERROR',
  'DID_IMM_RETRY',
  'DID_REQUEUE',
  'DID_TRANSPORT_DISRUPTED',
  'DID_TRANSPORT_FAILFAST',
  'DID_TARGET_FAILURE',
  'DID_NEXUS_FAILURE',
  'DID_ALLOC_FAILURE',
  'DID_MEDIUM_ERROR',
  'DID_TRANSPORT_MARGINAL',
];

export function hostByteName(h: number): string {
  return HOST_NAMES[h] ?? `host_byte(0x${(h & 0xff).toString(16).padStart(2, '0')})`;
}
