/**
 * fast-check generators of well-formed SCSI values: every value they produce is one the
 * decoders here could have produced, so `decode(encode(v))` must give `v` back. Test support
 * for the unit tests beside each codec and for the virtio-scsi property suites.
 */
import fc from 'fast-check';
import type { Cdb } from './cdb-types.js';
import { fieldMax, type Layout, type LayoutValue } from './fields.js';
import type { SenseData, SenseKeySpecific } from './sense.js';
import { HARDWARE_ERROR, ILLEGAL_REQUEST, MEDIUM_ERROR, NO_SENSE, NOT_READY, RECOVERED_ERROR } from './sense-codes.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** A 64-bit field the decoders hand back as a number. */
export const safeU64 = fc.oneof(u32, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
export const u64Big = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** Printable ASCII without trailing blanks: what a space-padded text field decodes to. */
export const asciiText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength }).map((s) => s.replace(/ +$/, ''));

function sksArb(key: number): fc.Arbitrary<SenseKeySpecific> {
  switch (key) {
    case ILLEGAL_REQUEST:
      return fc.record(
        { kind: fc.constant('field-pointer' as const), cd: fc.boolean(), fieldPointer: u16, bitPointer: fc.integer({ min: 0, max: 7 }) },
        { requiredKeys: ['kind', 'cd', 'fieldPointer'] },
      );
    case NO_SENSE:
    case NOT_READY:
      return fc.record({ kind: fc.constant('progress' as const), progress: u16 });
    case RECOVERED_ERROR:
    case MEDIUM_ERROR:
    case HARDWARE_ERROR:
      return fc.record({ kind: fc.constant('retry-count' as const), count: u16 });
    default:
      return fc.tuple(fc.integer({ min: 0, max: 0x7f }), u8, u8).map((bytes) => ({ kind: 'raw' as const, bytes }));
  }
}

/** Sense data with every optional field present or absent; FRU and command-specific nonzero when present. */
export const senseDataArb: fc.Arbitrary<SenseData> = fc.integer({ min: 0, max: 15 }).chain((key) =>
  fc.record(
    {
      key: fc.constant(key),
      asc: u8,
      ascq: u8,
      deferred: fc.constant(true),
      information: u64Big,
      commandSpecific: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).filter((v) => (v & 0xffff_ffffn) !== 0n),
      fru: fc.integer({ min: 1, max: 0xff }),
      sks: sksArb(key),
      ili: fc.constant(true),
    },
    { requiredKeys: ['key', 'asc', 'ascq'] },
  ),
);

/* ---- CDBs ---- */

const ctl = u8;
const grp = fc.integer({ min: 0, max: 31 });
const prot = fc.integer({ min: 0, max: 7 });
const u21 = fc.integer({ min: 0, max: 0x1f_ffff });

/** An LBA and a length that fit a block command of `size` bytes. */
function lbaLen(size: 10 | 12 | 16): fc.Arbitrary<{ lba: number; len: number }> {
  return fc.record({ lba: size === 16 ? safeU64 : u32, len: size === 10 ? u16 : u32 });
}

const rwArb = (op: 'READ' | 'WRITE'): fc.Arbitrary<Cdb> =>
  fc.constantFrom(6 as const, 10 as const, 12 as const, 16 as const).chain((size): fc.Arbitrary<Cdb> => {
    if (size === 6) {
      return fc.record({ lba: u21, transferLength: fc.integer({ min: 1, max: 256 }), control: ctl }).map((r) => {
        const common = { size, ...r, protect: 0, dpo: false, fua: false, group: 0 };
        return op === 'READ' ? { op, ...common, rarc: false } : { op, ...common };
      });
    }
    return fc.record({ ll: lbaLen(size), protect: prot, dpo: fc.boolean(), fua: fc.boolean(), rarc: fc.boolean(), group: grp, control: ctl }).map(({ ll, rarc, ...r }) => {
      const common = { size, lba: ll.lba, transferLength: ll.len, ...r };
      return op === 'READ' ? { op, ...common, rarc } : { op, ...common };
    });
  });

const size3 = fc.constantFrom(10 as const, 12 as const, 16 as const);
const size2 = fc.constantFrom(10 as const, 16 as const);

/** Every command of the union, every field in range: what `parseCdb` could have produced. */
export const cdbArb: fc.Arbitrary<Cdb> = fc.oneof(
  fc.record({ op: fc.constant('TEST_UNIT_READY' as const), control: ctl }),
  fc.record({ op: fc.constant('REQUEST_SENSE' as const), desc: fc.boolean(), allocationLength: u8, control: ctl }),
  fc.oneof(
    fc.record({ op: fc.constant('INQUIRY' as const), evpd: fc.constant(true), pageCode: u8, allocationLength: u16, control: ctl }),
    fc.record({ op: fc.constant('INQUIRY' as const), evpd: fc.constant(false), pageCode: fc.constant(0), allocationLength: u16, control: ctl }),
  ),
  fc.constantFrom(6 as const, 10 as const).chain((size) =>
    fc.record({ op: fc.constant('MODE_SELECT' as const), size: fc.constant(size), pf: fc.boolean(), sp: fc.boolean(), parameterListLength: size === 6 ? u8 : u16, control: ctl }),
  ),
  fc.constantFrom(6 as const, 10 as const).chain((size) =>
    fc.record({
      op: fc.constant('MODE_SENSE' as const),
      size: fc.constant(size),
      llbaa: size === 6 ? fc.constant(false) : fc.boolean(),
      dbd: fc.boolean(),
      pageControl: fc.integer({ min: 0, max: 3 }),
      pageCode: fc.integer({ min: 0, max: 63 }),
      subpageCode: u8,
      allocationLength: size === 6 ? u8 : u16,
      control: ctl,
    }),
  ),
  fc.record({
    op: fc.constant('START_STOP_UNIT' as const),
    immed: fc.boolean(),
    powerConditionModifier: fc.integer({ min: 0, max: 15 }),
    powerCondition: fc.integer({ min: 0, max: 15 }),
    noFlush: fc.boolean(),
    loej: fc.boolean(),
    start: fc.boolean(),
    control: ctl,
  }),
  fc.record({ op: fc.constant('PREVENT_ALLOW_MEDIUM_REMOVAL' as const), prevent: fc.integer({ min: 0, max: 3 }), control: ctl }),
  fc.oneof(
    fc.record({ op: fc.constant('READ_CAPACITY_10' as const), lba: u32, pmi: fc.constant(true), control: ctl }),
    fc.record({ op: fc.constant('READ_CAPACITY_10' as const), lba: fc.constant(0), pmi: fc.constant(false), control: ctl }),
    fc.record({ op: fc.constant('READ_CAPACITY_16' as const), lba: safeU64, allocationLength: u32, pmi: fc.constant(true), control: ctl }),
    fc.record({ op: fc.constant('READ_CAPACITY_16' as const), lba: fc.constant(0), allocationLength: u32, pmi: fc.constant(false), control: ctl }),
  ),
  fc.record({ op: fc.constant('GET_LBA_STATUS' as const), lba: safeU64, allocationLength: u32, control: ctl }),
  rwArb('READ'),
  rwArb('WRITE'),
  size3.chain((size) =>
    fc
      .record({ ll: lbaLen(size), protect: prot, dpo: fc.boolean(), bytchk: fc.constantFrom(0 as const, 1 as const, 3 as const), group: grp, control: ctl })
      .map(({ ll, ...r }) => ({ op: 'VERIFY' as const, size, lba: ll.lba, verificationLength: ll.len, ...r })),
  ),
  size3.chain((size) =>
    fc
      .record({ ll: lbaLen(size), protect: prot, dpo: fc.boolean(), bytchk: fc.boolean(), group: grp, control: ctl })
      .map(({ ll, ...r }) => ({ op: 'WRITE_AND_VERIFY' as const, size, lba: ll.lba, transferLength: ll.len, ...r })),
  ),
  size2.chain((size) =>
    fc
      .record({ ll: lbaLen(size), immed: fc.boolean(), group: grp, control: ctl })
      .map(({ ll, ...r }) => ({ op: 'SYNCHRONIZE_CACHE' as const, size, lba: ll.lba, numberOfBlocks: ll.len, ...r })),
  ),
  fc.record({ op: fc.constant('UNMAP' as const), anchor: fc.boolean(), group: grp, parameterListLength: u16, control: ctl }),
  size2.chain((size) =>
    fc
      .record({ ll: lbaLen(size), protect: prot, anchor: fc.boolean(), unmap: fc.boolean(), ndob: size === 16 ? fc.boolean() : fc.constant(false), group: grp, control: ctl })
      .map(({ ll, ...r }) => ({ op: 'WRITE_SAME' as const, size, lba: ll.lba, numberOfBlocks: ll.len, ...r })),
  ),
  fc.record({ op: fc.constant('REPORT_LUNS' as const), selectReport: u8, allocationLength: u32, control: ctl }),
  fc.record({ op: fc.constant('GET_EVENT_STATUS_NOTIFICATION' as const), polled: fc.boolean(), notificationClassRequest: u8, allocationLength: u16, control: ctl }),
  fc.record({ op: fc.constant('READ_TOC' as const), msf: fc.boolean(), format: fc.integer({ min: 0, max: 15 }), trackOrSession: u8, allocationLength: u16, control: ctl }),
  fc.record({
    op: fc.constant('REPORT_SUPPORTED_OPCODES' as const),
    rctd: fc.boolean(),
    reportingOptions: fc.integer({ min: 0, max: 3 }),
    requestedOpcode: u8,
    requestedServiceAction: u16,
    allocationLength: u32,
    control: ctl,
  }),
  fc.record({
    op: fc.constant('FORMAT_UNIT' as const),
    fmtpinfo: fc.integer({ min: 0, max: 3 }),
    longList: fc.boolean(),
    fmtData: fc.boolean(),
    cmpLst: fc.boolean(),
    defectListFormat: fc.integer({ min: 0, max: 7 }),
    control: ctl,
  }),
  fc.record({ op: fc.constant('SEEK_10' as const), lba: u32, control: ctl }),
  fc.record({ op: fc.constantFrom('RESERVE' as const, 'RELEASE' as const), size: fc.constantFrom(6 as const, 10 as const), control: ctl }),
);

/* ---- table-driven structures ---- */

/** Any value of a layout: every field anywhere in its range. */
export function layoutArb<L extends Layout>(layout: L): fc.Arbitrary<LayoutValue<L>> {
  const rec: Record<string, fc.Arbitrary<number | boolean>> = {};
  for (const [name, f] of Object.entries(layout)) rec[name] = f.kind === 'bit' ? fc.boolean() : fc.integer({ min: 0, max: fieldMax(f) });
  return fc.record(rec) as unknown as fc.Arbitrary<LayoutValue<L>>;
}
