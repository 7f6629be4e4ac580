/**
 * scsi_decide_disposition, scsi_check_sense and scsi_io_completion_action as pure
 * functions of a command's result: each sense key's fate, host bytes, retry counting, the
 * time limit, and any bytes as sense never throwing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSense } from '../../hw/scsi/sense.js';
import { SENSE_CODE, type SenseCode } from '../../hw/scsi/sense-codes.js';
import * as S from '../../hw/scsi/status.js';
import { newCmnd, SCSIML_STAT_MED_ERROR, SCSIML_STAT_NOSPC, SCSIML_STAT_RESV_CONFLICT, SCSIML_STAT_TGT_FAILURE, type ScsiCmnd } from './cmnd.js';
import { ScsiDevice } from './device.js';
import { scsiCheckSense, scsiDecideDisposition, scsiIoCompletionAction, scsiIoCompletionStatus, scsiResultToBlkStatus } from './disposition.js';
import type { ScsiHost } from './host.js';

const host = { cmdPerLun: 1, hostNo: 0 } as unknown as ScsiHost;

function cmd(o: { status?: number; host?: number; sense?: SenseCode | Uint8Array; op?: number; allowed?: number } = {}): ScsiCmnd {
  const sdev = new ScsiDevice(host, 0, 0, 0);
  sdev.state = 'running';
  const c = newCmnd({ id: 1, device: sdev, cdb: Uint8Array.of(o.op ?? 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), direction: 'from-device', sg: [], hwq: 0, now: 0, allowed: o.allowed ?? 5, timeoutMs: 30_000, finish: () => undefined });
  c.status = o.status ?? (o.sense ? S.SAM_STAT_CHECK_CONDITION : S.SAM_STAT_GOOD);
  c.hostByte = o.host ?? S.DID_OK;
  if (o.sense) c.sense = o.sense instanceof Uint8Array ? o.sense : buildSense(o.sense, 'fixed', 18);
  return c;
}

describe('scsi_check_sense', () => {
  it('UNIT ATTENTION goes up (SUCCESS) unless a reset we made is expected, then it is retried', () => {
    expect(scsiCheckSense(cmd({ sense: SENSE_CODE.RESET }))).toBe('success');
    const c = cmd({ sense: SENSE_CODE.RESET });
    c.device.expectingCcUa = true;
    expect(scsiCheckSense(c)).toBe('needs-retry');
    expect(c.device.expectingCcUa).toBe(false);
    const media = cmd({ sense: SENSE_CODE.MEDIUM_CHANGED });
    media.device.expectingCcUa = true;
    expect(scsiCheckSense(media)).toBe('success');
  });

  it('NOT READY: becoming ready is retried; others go up', () => {
    expect(scsiCheckSense(cmd({ sense: SENSE_CODE.LUN_BECOMING_READY }))).toBe('needs-retry');
    expect(scsiCheckSense(cmd({ sense: SENSE_CODE.NO_MEDIUM }))).toBe('success');
  });

  it('MEDIUM ERROR 11h/13h/14h is final (medium error), others retried', () => {
    const c = cmd({ sense: SENSE_CODE.READ_ERROR });
    expect([scsiCheckSense(c), c.mlByte]).toEqual(['success', SCSIML_STAT_MED_ERROR]);
    expect(scsiCheckSense(cmd({ sense: SENSE_CODE.WRITE_ERROR }))).toBe('needs-retry');
  });

  it('ILLEGAL REQUEST and HARDWARE ERROR are final target failures; ABORTED COMMAND is retried', () => {
    for (const s of [SENSE_CODE.INVALID_OPCODE, SENSE_CODE.LBA_OUT_OF_RANGE, SENSE_CODE.INVALID_FIELD, SENSE_CODE.TARGET_FAILURE]) {
      const c = cmd({ sense: s });
      expect([scsiCheckSense(c), c.mlByte]).toEqual(['success', SCSIML_STAT_TGT_FAILURE]);
    }
    expect(scsiCheckSense(cmd({ sense: SENSE_CODE.IO_ERROR }))).toBe('needs-retry');
  });

  it('DATA PROTECT space allocation failed is no-space; other write protection a target failure', () => {
    const a = cmd({ sense: SENSE_CODE.SPACE_ALLOC_FAILED });
    scsiCheckSense(a);
    expect(a.mlByte).toBe(SCSIML_STAT_NOSPC);
    const b = cmd({ sense: SENSE_CODE.WRITE_PROTECTED });
    scsiCheckSense(b);
    expect(b.mlByte).toBe(SCSIML_STAT_TGT_FAILURE);
  });

  it('deferred sense is retried; no valid sense wakes the error handler', () => {
    const d = buildSense(SENSE_CODE.READ_ERROR, 'fixed', 18);
    d[0] = 0x71;
    expect(scsiCheckSense(cmd({ sense: d }))).toBe('needs-retry');
    expect(scsiCheckSense(cmd({ sense: Uint8Array.of(0x12, 0, 0) }))).toBe('failed');
  });
});

describe('scsi_decide_disposition', () => {
  it('host bytes: BAD_TARGET and NO_CONNECT final, BUS_BUSY retried, TIME_OUT escalates (not for TUR/INQUIRY), unknown escalates', () => {
    expect(scsiDecideDisposition(cmd({ host: S.DID_BAD_TARGET }))).toBe('success');
    expect(scsiDecideDisposition(cmd({ host: S.DID_NO_CONNECT }))).toBe('success');
    expect(scsiDecideDisposition(cmd({ host: S.DID_BUS_BUSY }))).toBe('needs-retry');
    expect(scsiDecideDisposition(cmd({ host: S.DID_TIME_OUT }))).toBe('failed');
    expect(scsiDecideDisposition(cmd({ host: S.DID_TIME_OUT, op: 0x12 }))).toBe('success');
    expect(scsiDecideDisposition(cmd({ host: 0x55 }))).toBe('failed');
  });

  it('retries are counted against allowed', () => {
    const c = cmd({ host: S.DID_BUS_BUSY, allowed: 2 });
    expect([1, 2, 3].map(() => scsiDecideDisposition(c))).toEqual(['needs-retry', 'needs-retry', 'success']);
  });

  it('BUSY and TASK SET FULL requeue; RESERVATION CONFLICT is final', () => {
    expect(scsiDecideDisposition(cmd({ status: S.SAM_STAT_BUSY }))).toBe('add-to-mlqueue');
    expect(scsiDecideDisposition(cmd({ status: S.SAM_STAT_TASK_SET_FULL }))).toBe('add-to-mlqueue');
    expect(scsiDecideDisposition(cmd({ status: S.SAM_STAT_RESERVATION_CONFLICT }))).toBe('success');
  });

  it('any result and sense bytes decide without throwing (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.uint8Array({ maxLength: 96 }), (h, st, sense) => {
        const c = cmd({ host: h, status: st, sense });
        expect(['success', 'needs-retry', 'add-to-mlqueue', 'failed']).toContain(scsiDecideDisposition(c));
        expect(['fail', 'retry', 'delayed-retry', 'reprep']).toContain(scsiIoCompletionAction(c, 0));
      }),
      { numRuns: 500 },
    );
  });
});

describe('scsi_io_completion_action', () => {
  it('a unit attention on a fixed disk is retried, on a removable one fails', () => {
    expect(scsiIoCompletionAction(cmd({ sense: SENSE_CODE.RESET }), 0)).toBe('retry');
    const r = cmd({ sense: SENSE_CODE.RESET });
    r.device.removable = true;
    expect(scsiIoCompletionAction(r, 0)).toBe('fail');
  });

  it('READ(10) refused as an invalid opcode falls back to READ(6); becoming ready waits', () => {
    const c = cmd({ sense: SENSE_CODE.INVALID_OPCODE });
    expect(scsiIoCompletionAction(c, 0)).toBe('reprep');
    expect(c.device.use10ForRw).toBe(false);
    expect(scsiIoCompletionAction(cmd({ sense: SENSE_CODE.LUN_BECOMING_READY }), 0)).toBe('delayed-retry');
    expect(scsiIoCompletionAction(cmd({ sense: SENSE_CODE.READ_ERROR }), 0)).toBe('fail');
  });

  it('gives up after (allowed + 1) timeouts have passed since the command was built', () => {
    expect(scsiIoCompletionAction(cmd({ sense: SENSE_CODE.RESET, allowed: 5 }), 6 * 30_000 * 1e6 + 1)).toBe('fail');
  });
});

describe('scsi_result_to_blk_status and the status a failed request ends with', () => {
  /** The command as the midlayer leaves it: disposition decided (setting the midlayer byte), then the status. */
  const decided = (o: Parameters<typeof cmd>[0]): ScsiCmnd => {
    const c = cmd({ allowed: 0, ...o });
    scsiDecideDisposition(c);
    return c;
  };

  it("the midlayer byte first: what the logical unit answered, any path's", () => {
    expect(scsiIoCompletionStatus(decided({ sense: SENSE_CODE.READ_ERROR }))).toBe('medium');
    expect(scsiIoCompletionStatus(decided({ sense: SENSE_CODE.TARGET_FAILURE }))).toBe('target');
    expect(scsiIoCompletionStatus(decided({ sense: SENSE_CODE.SPACE_ALLOC_FAILED }))).toBe('nospc');
    expect(scsiIoCompletionStatus(decided({ status: S.SAM_STAT_RESERVATION_CONFLICT }))).toBe('nexus');
    const c = cmd();
    c.mlByte = SCSIML_STAT_RESV_CONFLICT;
    expect(scsiResultToBlkStatus(c)).toBe('nexus');
    c.mlByte = SCSIML_STAT_NOSPC;
    expect(scsiResultToBlkStatus(c)).toBe('nospc');
  });

  it('then the host byte: a failed transport is BLK_STS_TRANSPORT; a lost device, an abort, a time-out BLK_STS_IOERR', () => {
    expect(scsiResultToBlkStatus(cmd({ host: S.DID_TRANSPORT_FAILFAST }))).toBe('transport');
    expect(scsiResultToBlkStatus(cmd({ host: S.DID_TRANSPORT_MARGINAL }))).toBe('transport');
    for (const h of [S.DID_NO_CONNECT, S.DID_BAD_TARGET, S.DID_ABORT, S.DID_TIME_OUT, S.DID_TRANSPORT_DISRUPTED, S.DID_ERROR]) {
      expect(scsiResultToBlkStatus(cmd({ host: h })), `host byte ${h}`).toBe('ioerr');
    }
    expect(scsiResultToBlkStatus(cmd())).toBe('ok');
    expect(scsiResultToBlkStatus(cmd({ status: S.SAM_STAT_CONDITION_MET }))).toBe('ok');
    expect(scsiResultToBlkStatus(cmd({ status: S.SAM_STAT_BUSY }))).toBe('ioerr');
    // ABORTED COMMAND, I/O PROCESS TERMINATED (what QEMU sends for EIO), after its retries: a plain I/O error.
    expect(scsiIoCompletionStatus(decided({ sense: SENSE_CODE.IO_ERROR }))).toBe('ioerr');
  });

  it('current sense refines a failure: integrity (ASC 10h) is BLK_STS_PROTECTION, an invalid opcode or field BLK_STS_TARGET', () => {
    expect(scsiIoCompletionStatus(cmd({ sense: { key: 0x0b, asc: 0x10, ascq: 0x01 } }))).toBe('protection');
    expect(scsiIoCompletionStatus(cmd({ sense: { key: 0x05, asc: 0x10, ascq: 0x03 } }))).toBe('protection');
    expect(scsiIoCompletionStatus(cmd({ sense: { key: 0x05, asc: 0x24, ascq: 0 } }))).toBe('target');
    // Deferred sense (response code 71h) says nothing about this command.
    const deferred = buildSense({ key: 0x0b, asc: 0x10, ascq: 0x01 }, 'fixed', 18);
    deferred[0] = 0x71;
    expect(scsiIoCompletionStatus(cmd({ sense: deferred }))).toBe('ioerr');
  });
});
