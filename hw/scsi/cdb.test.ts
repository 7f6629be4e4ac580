import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { cdbArb } from './arbitraries.js';
import { cdbDataPhase, cdbErrorMessage, cdbErrorSense, cdbName, encodeCdb, parseCdb, type Cdb } from './cdb.js';
import { cdbLength, scsiOpcodeName } from './opcodes.js';
import { encodeSense } from './sense.js';
import { SENSE_CODE } from './sense-codes.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 5000 : 500 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

describe('CDB byte layouts (SBC-3 / SPC-4 examples)', () => {
  it('READ(10) of 8 blocks at LBA 0x12345678 with FUA', () => {
    const c: Cdb = { op: 'READ', size: 10, lba: 0x12345678, transferLength: 8, protect: 0, dpo: false, fua: true, rarc: false, group: 0, control: 0 };
    expect(hex(encodeCdb(c))).toBe('28081234567800000800');
    expect(parseCdb(bytes('28 08 12 34 56 78 00 00 08 00'))).toEqual(E.right(c));
  });

  it('READ(6) keeps its 21-bit LBA and reads a length of 0 as 256 blocks', () => {
    const r = parseCdb(bytes('08 1f ff ff 00 00'));
    expect(r).toEqual(E.right(expect.objectContaining({ op: 'READ', size: 6, lba: 0x1fffff, transferLength: 256 })));
    expect(parseCdb(bytes('08 e1 00 02 01 00'))).toEqual(E.right(expect.objectContaining({ lba: 0x10002, transferLength: 1 })));
    const w: Cdb = { op: 'WRITE', size: 6, lba: 5, transferLength: 256, protect: 0, dpo: false, fua: false, group: 0, control: 0 };
    expect(hex(encodeCdb(w))).toBe('0a0000050000');
  });

  it('WRITE(16), SYNCHRONIZE CACHE(10), WRITE SAME(16) with UNMAP and NDOB', () => {
    const w16: Cdb = { op: 'WRITE', size: 16, lba: 0x1_0000_0002, transferLength: 0x10000, protect: 0, dpo: true, fua: true, group: 3, control: 0 };
    expect(hex(encodeCdb(w16))).toBe('8a180000000100000002' + '00010000' + '0300');
    const sync: Cdb = { op: 'SYNCHRONIZE_CACHE', size: 10, immed: true, lba: 0, numberOfBlocks: 0, group: 0, control: 0 };
    expect(hex(encodeCdb(sync))).toBe('35020000000000000000');
    const ws: Cdb = { op: 'WRITE_SAME', size: 16, protect: 0, anchor: false, unmap: true, ndob: true, lba: 64, numberOfBlocks: 128, group: 0, control: 0 };
    expect(hex(encodeCdb(ws))).toBe('93090000000000000040' + '00000080' + '0000');
  });

  it('INQUIRY for VPD page 0x83, READ CAPACITY(16), REPORT LUNS, MODE SENSE(10) of all pages', () => {
    expect(hex(encodeCdb({ op: 'INQUIRY', evpd: true, pageCode: 0x83, allocationLength: 0x1000, control: 0 }))).toBe('120183100000');
    expect(hex(encodeCdb({ op: 'READ_CAPACITY_16', lba: 0, allocationLength: 32, pmi: false, control: 0 }))).toBe('9e100000000000000000000000200000');
    expect(hex(encodeCdb({ op: 'REPORT_LUNS', selectReport: 0, allocationLength: 0x1008, control: 0 }))).toBe('a00000000000000010080000');
    expect(
      hex(encodeCdb({ op: 'MODE_SENSE', size: 10, llbaa: true, dbd: false, pageControl: 0, pageCode: 0x3f, subpageCode: 0, allocationLength: 0xfc, control: 0 })),
    ).toBe('5a103f0000000000fc00');
    expect(
      hex(encodeCdb({ op: 'REPORT_SUPPORTED_OPCODES', rctd: false, reportingOptions: 1, requestedOpcode: 0x93, requestedServiceAction: 0, allocationLength: 512, control: 0 })),
    ).toBe('a30c01930000000002000000');
  });

  it('names commands as SPC does', () => {
    expect(cdbName({ op: 'WRITE_SAME', size: 16, protect: 0, anchor: false, unmap: false, ndob: false, lba: 0, numberOfBlocks: 1, group: 0, control: 0 })).toBe('WRITE SAME(16)');
    expect(scsiOpcodeName(0xff)).toBe('opcode(0xff)');
    expect([0x00, 0x28, 0x5a, 0x88, 0xa8, 0x7f, 0xc0].map(cdbLength)).toEqual([6, 10, 10, 16, 12, undefined, undefined]);
  });
});

describe('CDB refusals carry the sense a device server answers', () => {
  const left = (h: string) => {
    const r = parseCdb(bytes(h));
    if (E.isRight(r)) throw new Error(`parsed ${h}`);
    return r.left;
  };

  it('unknown opcodes, groups and short buffers: INVALID COMMAND OPERATION CODE', () => {
    expect(left('4d 00 00 00 00 00 00 00 00 00')).toEqual({ _tag: 'InvalidOpcode', opcode: 0x4d });
    expect(left('c5 00')).toEqual({ _tag: 'InvalidOpcode', opcode: 0xc5 });
    expect(left('28 00 00 00')).toEqual({ _tag: 'Truncated', opcode: 0x28, needed: 10, got: 4 });
    expect(left('')._tag).toBe('Truncated');
    expect(cdbErrorSense(left('7f 00'))).toEqual({ ...SENSE_CODE.INVALID_OPCODE });
  });

  it('bad fields point at their byte and bit', () => {
    const saIn = left('9e 11 00 00 00 00 00 00 00 00 00 00 00 20 00 00');
    expect(saIn).toMatchObject({ _tag: 'InvalidField', byte: 1, bit: 4 });
    const s = encodeSense(cdbErrorSense(saIn), 'fixed');
    expect(hex(s.subarray(12, 18))).toBe('2400' + '00' + 'cc0001');
    expect(left('12 00 80 00 24 00')).toMatchObject({ _tag: 'InvalidField', byte: 2 });
    expect(left('25 00 00 00 00 01 00 00 00 00')).toMatchObject({ _tag: 'InvalidField', byte: 2 });
    expect(left('2f 04 00 00 00 00 00 00 01 00')).toMatchObject({ _tag: 'InvalidField', byte: 1, bit: 2 });
    expect(left('41 02 00 00 00 00 00 00 01 00')).toMatchObject({ _tag: 'InvalidField', byte: 1, bit: 1 });
    expect(left('a3 0c 05 00 00 00 00 00 02 00 00 00')).toMatchObject({ _tag: 'InvalidField', byte: 2, bit: 2 });
    expect(left('a3 0a 00 00 00 00 00 00 02 00 00 00')).toMatchObject({ _tag: 'InvalidField', byte: 1, bit: 4 });
    expect(cdbErrorMessage(saIn)).toContain('byte 1, bit 4');
  });

  it('an LBA beyond 2^53 - 1 is out of range', () => {
    const e = left('88 00 00 20 00 00 00 00 00 00 00 00 00 01 00 00');
    expect(e).toEqual({ _tag: 'LbaOutOfRange', opcode: 0x88, lba: 1n << 53n });
    expect(cdbErrorSense(e)).toEqual({ ...SENSE_CODE.LBA_OUT_OF_RANGE });
  });
});

describe('CDB data phase', () => {
  it('gives direction and bytes', () => {
    const rd: Cdb = { op: 'READ', size: 6, lba: 0, transferLength: 256, protect: 0, dpo: false, fua: false, rarc: false, group: 0, control: 0 };
    expect(cdbDataPhase(rd, 512)).toEqual({ direction: 'from-device', bytes: 131072 });
    expect(cdbDataPhase({ op: 'UNMAP', anchor: false, group: 0, parameterListLength: 24, control: 0 }, 512)).toEqual({ direction: 'to-device', bytes: 24 });
    expect(cdbDataPhase({ op: 'WRITE_SAME', size: 16, protect: 0, anchor: false, unmap: true, ndob: true, lba: 0, numberOfBlocks: 8, group: 0, control: 0 }, 4096)).toEqual({
      direction: 'none',
      bytes: 0,
    });
    expect(cdbDataPhase({ op: 'TEST_UNIT_READY', control: 0 }, 512).direction).toBe('none');
  });
});

describe('CDB properties', () => {
  it('parse(encode(c)) = c for every command', () => {
    fc.assert(
      fc.property(cdbArb, (c) => {
        const b = encodeCdb(c);
        expect(b.length).toBe(cdbLength(b[0]));
        expect(parseCdb(b)).toEqual(E.right(c));
        // A virtio-scsi cdb[32] carries the CDB followed by zeroes.
        const padded = new Uint8Array(32);
        padded.set(b);
        expect(parseCdb(padded)).toEqual(E.right(c));
      }),
      RUNS,
    );
  });

  it('any bytes parse to a command or a typed error, and a parsed command re-encodes to itself', () => {
    const opcodeFirst = fc.tuple(fc.oneof(u8Arb, knownOpcode), fc.uint8Array({ maxLength: 31 })).map(([op, rest]) => Uint8Array.from([op, ...rest]));
    // Known opcodes with mostly-zero bytes after them, so the field checks are reached too.
    const sparse = fc
      .tuple(knownOpcode, fc.array(fc.tuple(fc.integer({ min: 1, max: 15 }), u8Arb), { maxLength: 3 }))
      .map(([op, pokes]) => {
        const b = new Uint8Array(16);
        b[0] = op;
        for (const [i, v] of pokes) b[i] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), opcodeFirst, sparse), (b) => {
        const r = parseCdb(b);
        if (E.isLeft(r)) {
          expect(['InvalidOpcode', 'Truncated', 'InvalidField', 'LbaOutOfRange']).toContain(r.left._tag);
          expect(cdbErrorSense(r.left).key).toBe(5);
          expect(cdbErrorMessage(r.left)).toMatch(/^CDB: /);
        } else {
          expect(parseCdb(encodeCdb(r.right))).toEqual(r);
          expect(cdbDataPhase(r.right, 512).bytes).toBeGreaterThanOrEqual(0);
        }
      }),
      RUNS,
    );
  });
});

const u8Arb = fc.integer({ min: 0, max: 255 });
const knownOpcode = fc.constantFrom(
  0x00, 0x03, 0x04, 0x08, 0x0a, 0x12, 0x15, 0x16, 0x17, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2b, 0x2e, 0x2f, 0x35, 0x41, 0x42, 0x43, 0x4a, 0x55, 0x56,
  0x57, 0x5a, 0x88, 0x8a, 0x8e, 0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa, 0xae, 0xaf,
);
