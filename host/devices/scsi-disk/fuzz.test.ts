/**
 * Whatever CDB a guest sends, to any LUN and with any buffer: nothing throws, the request
 * completes exactly once (GOOD or CHECK CONDITION with sense), and an opcode scsi-disk does
 * not know is INVALID COMMAND OPERATION CODE, unless its length was refused first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cdbLength } from '../../../hw/scsi/opcodes.js';
import { parseCdb } from '../scsi-bus/cdb.js';
import { ILLEGAL_REQUEST, SENSE, senseEquals } from '../scsi-bus/defs.js';
import { makeRig, run } from './test-utils.js';

/** Opcodes scsi-hd / scsi-cd answer (scsi_disk_reqops_dispatch and the emulation switch), and REPORT LUNS (the bus). */
const KNOWN = new Set([
  0x00, 0x03, 0x04, 0x08, 0x0a, 0x12, 0x15, 0x16, 0x17, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2b, 0x2e, 0x2f, 0x35, 0x41, 0x42, 0x43,
  0x46, 0x4a, 0x51, 0x55, 0x56, 0x57, 0x5a, 0x88, 0x8a, 0x8e, 0x8f, 0x93, 0x9e, 0xa0, 0xa8, 0xaa, 0xad, 0xae, 0xaf, 0xbd,
]);

const arbCdb = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 20 }),
  fc.tuple(fc.constantFrom(...KNOWN), fc.uint8Array({ minLength: 5, maxLength: 15 })).map(([o, rest]) => Uint8Array.from([o, ...rest])),
);

describe('scsi-disk: arbitrary CDBs', () => {
  it('never throw; complete once with GOOD or CHECK CONDITION; unknown opcodes get INVALID OPCODE', () => {
    fc.assert(
      fc.property(
        arbCdb,
        fc.constantFrom<'scsi-hd' | 'scsi-cd'>('scsi-hd', 'scsi-cd'),
        fc.constantFrom(0, 0, 0, 1),
        fc.nat({ max: 70000 }),
        fc.boolean(),
        (c, kind, lun, bufSize, out) => {
          const r = makeRig({ kind, size: 256 * 1024 });
          const a = out ? run(r, c, { lun, dataOut: new Uint8Array(bufSize) }) : run(r, c, { lun, dataIn: bufSize });
          expect(a.outcome.done).toBe(true);
          expect(a.canceled).toBe(false);
          expect([0, 2]).toContain(a.status);
          if (a.status === 2) expect(a.sense).toBeDefined();
          expect(r.disk.common.requests.size).toBe(0);
          const op = c.length > 0 ? c[0] : -1;
          const len = op < 0 ? undefined : cdbLength(op);
          const xfer = parseCdb(r.disk, c)?.xfer ?? 0;
          if (lun === 0 && len !== undefined && len <= c.length && !KNOWN.has(op) && xfer <= 65536) {
            expect(a.sense).toEqual(SENSE.INVALID_OPCODE);
          }
          if (len === undefined || len > c.length) expect(a.sense).toEqual(SENSE.INVALID_OPCODE);
          if (lun === 1 && op !== 0x12 && op !== 0x03 && a.status === 2) {
            expect(senseEquals(a.sense!, SENSE.LUN_NOT_SUPPORTED) || a.sense!.key === ILLEGAL_REQUEST).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
