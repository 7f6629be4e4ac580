import { describe, expect, it } from 'vitest';
import { SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import {
  VIRTIO_SCSI_S_ABORTED,
  VIRTIO_SCSI_S_BAD_TARGET,
  VIRTIO_SCSI_S_FUNCTION_COMPLETE,
  VIRTIO_SCSI_S_FUNCTION_REJECTED,
  VIRTIO_SCSI_S_FUNCTION_SUCCEEDED,
  VIRTIO_SCSI_S_INCORRECT_LUN,
  VIRTIO_SCSI_S_OK,
  VIRTIO_SCSI_S_RESET,
  VIRTIO_SCSI_T_TMF_ABORT_TASK,
  VIRTIO_SCSI_T_TMF_ABORT_TASK_SET,
  VIRTIO_SCSI_T_TMF_CLEAR_ACA,
  VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET,
  VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET,
  VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET,
  VIRTIO_SCSI_T_TMF_QUERY_TASK,
  VIRTIO_SCSI_T_TMF_QUERY_TASK_SET,
  encodeVirtioScsiLun,
} from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiCtrlReq } from '../../../hw/virtio/scsi-req.js';
import { parseSense, SENSE } from '../scsi-bus/defs.js';
import { read10 } from '../scsi-disk/test-utils.js';
import { le32, makeScsiRig, type ScsiRig } from './test-utils.js';

/** Put commands at the drive, then send the TMF in the same instant, then run to the end. */
function withOutstanding(r: ScsiRig, cmds: { target: number; lun: number; tag: bigint }[], tmf: () => { head: number; respAddr: number }) {
  const built = cmds.map((c) => r.command({ ...c, cdb: read10(0, 8), dataIn: 4096 }));
  let inFlight = -1;
  r.ctx.run('kick cmd', () => {
    r.hba.handleOutput(r.vqs[2]);
    inFlight = r.hba.inFlight;
  });
  const t = tmf();
  r.ctx.run('kick ctrl', () => r.hba.handleOutput(r.vqs[0]));
  r.env.sim.run();
  expect(inFlight).toBe(cmds.length);
  return { built, tmfResponse: r.mem.read8(t.respAddr), tmfHead: t.head };
}

describe('virtio-scsi task management', () => {
  it('ABORT TASK cancels the command with that tag: it answers ABORTED, the TMF FUNCTION COMPLETE after it', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const { built, tmfResponse, tmfHead } = withOutstanding(r, [{ target: 0, lun: 0, tag: 9n }, { target: 0, lun: 0, tag: 10n }], () =>
      r.tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0, 9n),
    );
    expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect(r.used(0)).toEqual([{ id: tmfHead, len: 1 }]);
    expect(r.response(built[0])).toMatchObject({ response: VIRTIO_SCSI_S_ABORTED, status: 0, senseLen: 0 });
    expect(r.response(built[1])).toMatchObject({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_GOOD });
    // The TMF's answer is not pushed before the command it aborted.
    const tmfAt = r.rec.events.find((e) => e.kind === 'device-complete' && e.vq === 0)!.t;
    const abortedAt = r.rec.events.find((e) => e.kind === 'device-complete' && e.vq === 2 && e.status === 'ABORTED')!.t;
    expect(tmfAt).toBeGreaterThanOrEqual(abortedAt);
  });

  it('ABORT TASK of a tag nobody holds is FUNCTION COMPLETE and touches nothing', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const { built, tmfResponse } = withOutstanding(r, [{ target: 0, lun: 0, tag: 9n }], () => r.tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0, 0x1_0000_0009n));
    expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect(r.response(built[0]).response).toBe(VIRTIO_SCSI_S_OK);
  });

  it('QUERY TASK: FUNCTION SUCCEEDED while the LU holds the command, FUNCTION COMPLETE after', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const { tmfResponse, built } = withOutstanding(r, [{ target: 0, lun: 0, tag: 3n }], () => r.tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, 3n));
    expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
    expect(r.response(built[0]).response).toBe(VIRTIO_SCSI_S_OK);
    const again = r.tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, 3n);
    r.kick(0);
    expect(r.mem.read8(again.respAddr)).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
  });

  it('QUERY TASK SET answers SUCCEEDED with commands pending; ABORT and CLEAR TASK SET cancel all of the LU, not others', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }, { id: 0, lun: 1 }] });
    const q = withOutstanding(r, [{ target: 0, lun: 0, tag: 1n }], () => r.tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 0, 0));
    expect(q.tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
    for (const sub of [VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET]) {
      const { built, tmfResponse } = withOutstanding(
        r,
        [
          { target: 0, lun: 0, tag: 1n },
          { target: 0, lun: 0, tag: 2n },
          { target: 0, lun: 1, tag: 3n },
        ],
        () => r.tmf(sub, 0, 0),
      );
      expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
      expect(built.map((b) => r.response(b).response)).toEqual([VIRTIO_SCSI_S_ABORTED, VIRTIO_SCSI_S_ABORTED, VIRTIO_SCSI_S_OK]);
    }
    const idle = r.tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 0, 0);
    r.kick(0);
    expect(r.mem.read8(idle.respAddr)).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
  });

  it('LOGICAL UNIT RESET: the LU\'s commands answer RESET, then it reports the RESET unit attention', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }, { id: 0, lun: 1 }] });
    const { built, tmfResponse } = withOutstanding(r, [{ target: 0, lun: 1, tag: 1n }, { target: 0, lun: 0, tag: 2n }], () => r.tmf(VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 1));
    expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect(built.map((b) => r.response(b).response)).toEqual([VIRTIO_SCSI_S_RESET, VIRTIO_SCSI_S_OK]);
    const after = [r.command({ target: 0, lun: 1, cdb: read10(0, 1), dataIn: 512 }), r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512 })];
    r.kick(2);
    const [reset, other] = after.map((c) => r.response(c));
    expect(reset.status).toBe(SAM_STAT_CHECK_CONDITION);
    expect(parseSense(reset.sense)).toEqual(SENSE.RESET);
    expect(other.status).toBe(SAM_STAT_GOOD);
  });

  it('I_T NEXUS RESET resets every LU of the target in lun[1], and no other target', () => {
    const r = makeScsiRig({ disks: [{ id: 2, lun: 0 }, { id: 2, lun: 5 }, { id: 3, lun: 0 }] });
    const { built, tmfResponse } = withOutstanding(
      r,
      [
        { target: 2, lun: 0, tag: 1n },
        { target: 2, lun: 5, tag: 2n },
        { target: 3, lun: 0, tag: 3n },
      ],
      () => r.tmf(VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 2, 9),
    );
    expect(tmfResponse).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect(built.map((b) => r.response(b).response)).toEqual([VIRTIO_SCSI_S_RESET, VIRTIO_SCSI_S_RESET, VIRTIO_SCSI_S_OK]);
  });

  it('addresses: no device at the target is BAD_TARGET; a target without that LUN is INCORRECT_LUN', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const cases = [
      [VIRTIO_SCSI_T_TMF_ABORT_TASK, 4, 0, VIRTIO_SCSI_S_BAD_TARGET],
      [VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 4, 0, VIRTIO_SCSI_S_BAD_TARGET],
      [VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, 4, 0, VIRTIO_SCSI_S_BAD_TARGET],
      [VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 3, VIRTIO_SCSI_S_INCORRECT_LUN],
      [VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 3, VIRTIO_SCSI_S_INCORRECT_LUN],
      [VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET, 0, 3, VIRTIO_SCSI_S_INCORRECT_LUN],
      [VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0, VIRTIO_SCSI_S_FUNCTION_REJECTED],
      [99, 0, 0, VIRTIO_SCSI_S_FUNCTION_REJECTED],
    ] as const;
    const sent = cases.map(([sub, t, l]) => r.tmf(sub, t, l));
    r.kick(0);
    expect(sent.map((x) => r.mem.read8(x.respAddr))).toEqual(cases.map((c) => c[3]));
    expect(r.used(0).map((u) => u.len)).toEqual(cases.map(() => 1));
  });

  it('asynchronous notification: no events supported (event_actual 0, OK); an unknown type is pushed back with nothing written', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const an = r.control(encodeVirtioScsiCtrlReq({ kind: 'an-query', lun: encodeVirtioScsiLun(0, 0), eventRequested: 0x10 }), 5);
    const unknown = r.control(Uint8Array.from([...le32(7), 0, 0, 0, 0]), 8);
    r.kick(0);
    expect([...r.mem.read(an.respAddr, 5)]).toEqual([0, 0, 0, 0, VIRTIO_SCSI_S_OK]);
    expect(r.mem.read8(unknown.respAddr)).toBe(0xee);
    expect(r.used(0)).toEqual([
      { id: an.head, len: 5 },
      { id: unknown.head, len: 0 },
    ]);
    expect(r.errors).toEqual([]);
  });
});
