/**
 * Sense data (SPC-4 §4.5), both formats, byte for byte.
 *
 * Fixed format (response code 0x70 current, 0x71 deferred), 18 bytes as QEMU and Linux build it:
 *   0  VALID(7) | response code     1 obsolete      2  FILEMARK(7) EOM(6) ILI(5) | sense key(3:0)
 *   3..6  INFORMATION (be32)        7  additional sense length (10)
 *   8..11 COMMAND-SPECIFIC INFORMATION   12 ASC   13 ASCQ   14 FRU code
 *   15..17 sense-key specific: SKSV(7 of byte 15) and 23 bits
 *
 * Descriptor format (0x72 current, 0x73 deferred): 8-byte header then descriptors
 *   0  response code   1  sense key(3:0)   2 ASC   3 ASCQ   4..6 reserved   7 additional sense length
 *   descriptor: type, additional length, body. Those decoded here (SPC-4 §4.5.2.2-4.5.2.5, SBC-3 §4.18.3):
 *     0x00 information (len 0x0a): 2 VALID(7), 4..11 be64     0x01 command-specific (len 0x0a): 4..11 be64
 *     0x02 sense-key specific (len 6): 4..6                   0x03 FRU (len 2): 3
 *     0x05 block commands (len 2): 3 ILI(5)
 *
 * The sense-key-specific field is read by sense key (SPC-4 §4.5.2.4.1): ILLEGAL REQUEST gives a
 * field pointer (C/D, BPV, bit pointer, field pointer), NO SENSE and NOT READY a progress
 * indication, RECOVERED / MEDIUM / HARDWARE ERROR an actual retry count; others stay raw.
 *
 * Decoding accepts any bytes and never throws. It follows Linux's scsi_normalize_sense: a
 * truncated buffer gives what it holds (missing fields are zero or absent), the fixed format is
 * cut at its additional sense length. Only an empty buffer or an unknown response code is refused.
 */
import * as E from 'fp-ts/lib/Either.js';
import { bit, bits, flag, get16, get32, get64, get8, put16, put32, put64 } from './bytes.js';
import { HARDWARE_ERROR, ILLEGAL_REQUEST, MEDIUM_ERROR, NO_SENSE, NOT_READY, RECOVERED_ERROR, SENSE_CODE, type SenseCode } from './sense-codes.js';

export const SENSE_FIXED_CURRENT = 0x70;
export const SENSE_FIXED_DEFERRED = 0x71;
export const SENSE_DESC_CURRENT = 0x72;
export const SENSE_DESC_DEFERRED = 0x73;
/** Fixed-format sense as built here and by QEMU (SCSI_SENSE_LEN) and Linux: 18 bytes. */
export const SENSE_FIXED_LEN = 18;
export const SENSE_DESC_HEADER_LEN = 8;
/** QEMU's SCSI_SENSE_BUF_SIZE: the most sense a QEMU request or device keeps. */
export const SCSI_SENSE_BUF_SIZE = 252;
/** Linux's SCSI_SENSE_BUFFERSIZE, and virtio-scsi's default sense_size. */
export const SCSI_SENSE_BUFFERSIZE = 96;

export const SENSE_DESC_INFORMATION = 0x00;
export const SENSE_DESC_COMMAND_SPECIFIC = 0x01;
export const SENSE_DESC_SENSE_KEY_SPECIFIC = 0x02;
export const SENSE_DESC_FRU = 0x03;
export const SENSE_DESC_BLOCK_COMMANDS = 0x05;

export type SenseFormat = 'fixed' | 'descriptor';

/** The sense-key-specific field (SKSV set), read according to the sense key. */
export type SenseKeySpecific =
  /** ILLEGAL REQUEST: which CDB (cd) or parameter-list byte, and bit when known, was wrong. */
  | { readonly kind: 'field-pointer'; readonly cd: boolean; readonly fieldPointer: number; readonly bitPointer?: number }
  /** NO SENSE, NOT READY: progress of an operation, in 65536ths. */
  | { readonly kind: 'progress'; readonly progress: number }
  /** RECOVERED, MEDIUM or HARDWARE ERROR: the retries the device made. */
  | { readonly kind: 'retry-count'; readonly count: number }
  /** Any other key: the 23 bits as they are (byte 0 without SKSV). */
  | { readonly kind: 'raw'; readonly bytes: readonly [number, number, number] };

/** Sense data, independent of its format. Optional fields are absent from the wire when undefined. */
export interface SenseData extends SenseCode {
  /** Response code 0x71 / 0x73: the error belongs to an earlier command. */
  readonly deferred?: boolean;
  /** INFORMATION: for block devices, the first LBA in error. Fixed format holds 32 bits only. */
  readonly information?: bigint;
  readonly commandSpecific?: bigint;
  readonly fru?: number;
  readonly sks?: SenseKeySpecific;
  /** Incorrect length indicator. */
  readonly ili?: boolean;
}

export interface DecodedSense {
  readonly format: SenseFormat;
  readonly sense: SenseData;
}

export type SenseError = { readonly _tag: 'Empty' } | { readonly _tag: 'UnknownResponseCode'; readonly code: number };

export function senseErrorMessage(e: SenseError): string {
  return e._tag === 'Empty' ? 'sense data: no bytes' : `sense data: unknown response code 0x${e.code.toString(16)}`;
}

/** Sense data for a named code, with optional extras. */
export const senseOf = (code: SenseCode, extras: Omit<SenseData, 'key' | 'asc' | 'ascq'> = {}): SenseData => ({
  key: code.key,
  asc: code.asc,
  ascq: code.ascq,
  ...extras,
});

/** ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at `byte` (and `bitPointer`), as Linux's scsi_set_sense_field_pointer. */
export const invalidFieldInCdb = (byte: number, bitPointer?: number): SenseData =>
  senseOf(SENSE_CODE.INVALID_FIELD, { sks: { kind: 'field-pointer', cd: true, fieldPointer: byte, ...(bitPointer === undefined ? {} : { bitPointer }) } });

/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing at `byte` of the parameter data. */
export const invalidFieldInParameterList = (byte: number, bitPointer?: number): SenseData =>
  senseOf(SENSE_CODE.INVALID_PARAM, { sks: { kind: 'field-pointer', cd: false, fieldPointer: byte, ...(bitPointer === undefined ? {} : { bitPointer }) } });

/* ---- sense-key-specific bytes ---- */

function encodeSks(s: SenseKeySpecific, out: Uint8Array, o: number): void {
  switch (s.kind) {
    case 'field-pointer': {
      const bp = s.bitPointer === undefined ? 0 : 0x08 | (s.bitPointer & 7);
      out[o] = 0x80 | flag(s.cd, 6) | bp;
      put16(out, o + 1, s.fieldPointer);
      return;
    }
    case 'progress':
      out[o] = 0x80;
      put16(out, o + 1, s.progress);
      return;
    case 'retry-count':
      out[o] = 0x80;
      put16(out, o + 1, s.count);
      return;
    case 'raw':
      out[o] = 0x80 | (s.bytes[0] & 0x7f);
      out[o + 1] = s.bytes[1] & 0xff;
      out[o + 2] = s.bytes[2] & 0xff;
  }
}

/** The field at b[o..o+2], or undefined when SKSV is clear. */
function decodeSks(key: number, b: Uint8Array, o: number): SenseKeySpecific | undefined {
  if (!bit(b, o, 7)) return undefined;
  const v = get16(b, o + 1);
  switch (key) {
    case ILLEGAL_REQUEST:
      return { kind: 'field-pointer', cd: bit(b, o, 6), fieldPointer: v, ...(bit(b, o, 3) ? { bitPointer: bits(b, o, 0, 3) } : {}) };
    case NO_SENSE:
    case NOT_READY:
      return { kind: 'progress', progress: v };
    case RECOVERED_ERROR:
    case MEDIUM_ERROR:
    case HARDWARE_ERROR:
      return { kind: 'retry-count', count: v };
    default:
      return { kind: 'raw', bytes: [get8(b, o) & 0x7f, get8(b, o + 1), get8(b, o + 2)] };
  }
}

/* ---- encode ---- */

/**
 * Sense bytes in the chosen format. Fixed format is 18 bytes; an INFORMATION beyond 32 bits
 * keeps its low 32 bits with VALID clear (Linux's scsi_set_sense_information).
 */
export function encodeSense(s: SenseData, format: SenseFormat): Uint8Array {
  return format === 'fixed' ? encodeFixed(s) : encodeDescriptor(s);
}

function encodeFixed(s: SenseData): Uint8Array {
  const out = new Uint8Array(SENSE_FIXED_LEN);
  out[0] = s.deferred ? SENSE_FIXED_DEFERRED : SENSE_FIXED_CURRENT;
  out[2] = flag(s.ili === true, 5) | (s.key & 0xf);
  if (s.information !== undefined) {
    const info = BigInt.asUintN(64, s.information);
    if (info <= 0xffff_ffffn) out[0] |= 0x80;
    put32(out, 3, Number(info & 0xffff_ffffn));
  }
  out[7] = SENSE_FIXED_LEN - 8;
  if (s.commandSpecific !== undefined) put32(out, 8, Number(BigInt.asUintN(32, s.commandSpecific)));
  out[12] = s.asc & 0xff;
  out[13] = s.ascq & 0xff;
  out[14] = (s.fru ?? 0) & 0xff;
  if (s.sks !== undefined) encodeSks(s.sks, out, 15);
  return out;
}

function encodeDescriptor(s: SenseData): Uint8Array {
  const len =
    SENSE_DESC_HEADER_LEN +
    (s.information !== undefined ? 12 : 0) +
    (s.commandSpecific !== undefined ? 12 : 0) +
    (s.sks !== undefined ? 8 : 0) +
    (s.fru !== undefined ? 4 : 0) +
    (s.ili ? 4 : 0);
  const out = new Uint8Array(len);
  out[0] = s.deferred ? SENSE_DESC_DEFERRED : SENSE_DESC_CURRENT;
  out[1] = s.key & 0xf;
  out[2] = s.asc & 0xff;
  out[3] = s.ascq & 0xff;
  out[7] = len - SENSE_DESC_HEADER_LEN;
  let o = SENSE_DESC_HEADER_LEN;
  if (s.information !== undefined) {
    out.set([SENSE_DESC_INFORMATION, 0x0a, 0x80, 0], o);
    put64(out, o + 4, BigInt.asUintN(64, s.information));
    o += 12;
  }
  if (s.commandSpecific !== undefined) {
    out.set([SENSE_DESC_COMMAND_SPECIFIC, 0x0a], o);
    put64(out, o + 4, BigInt.asUintN(64, s.commandSpecific));
    o += 12;
  }
  if (s.sks !== undefined) {
    out.set([SENSE_DESC_SENSE_KEY_SPECIFIC, 6], o);
    encodeSks(s.sks, out, o + 4);
    o += 8;
  }
  if (s.fru !== undefined) {
    out.set([SENSE_DESC_FRU, 2, 0, s.fru & 0xff], o);
    o += 4;
  }
  if (s.ili) out.set([SENSE_DESC_BLOCK_COMMANDS, 2, 0, 0x20], o);
  return out;
}

/* ---- decode ---- */

/** Decode sense bytes of either format. Any bytes: a value or a typed refusal, never a throw. */
export function decodeSense(b: Uint8Array): E.Either<SenseError, DecodedSense> {
  if (b.length === 0) return E.left({ _tag: 'Empty' });
  const code = b[0] & 0x7f;
  switch (code) {
    case SENSE_FIXED_CURRENT:
    case SENSE_FIXED_DEFERRED:
      return E.right({ format: 'fixed', sense: decodeFixed(b, code === SENSE_FIXED_DEFERRED) });
    case SENSE_DESC_CURRENT:
    case SENSE_DESC_DEFERRED:
      return E.right({ format: 'descriptor', sense: decodeDescriptor(b, code === SENSE_DESC_DEFERRED) });
    default:
      return E.left({ _tag: 'UnknownResponseCode', code });
  }
}

function decodeFixed(raw: Uint8Array, deferred: boolean): SenseData {
  const len = raw.length > 7 ? Math.min(raw.length, raw[7] + 8) : raw.length;
  const b = raw.subarray(0, len);
  const key = bits(b, 2, 0, 4);
  const s: { -readonly [K in keyof SenseData]: SenseData[K] } = { key, asc: get8(b, 12), ascq: get8(b, 13) };
  if (deferred) s.deferred = true;
  if (bit(b, 0, 7) && len >= 7) s.information = BigInt(get32(b, 3));
  if (len >= 12 && get32(b, 8) !== 0) s.commandSpecific = BigInt(get32(b, 8));
  if (get8(b, 14) !== 0) s.fru = b[14];
  if (len >= 18) {
    const sks = decodeSks(key, b, 15);
    if (sks !== undefined) s.sks = sks;
  }
  if (bit(b, 2, 5)) s.ili = true;
  return s;
}

function decodeDescriptor(b: Uint8Array, deferred: boolean): SenseData {
  const key = bits(b, 1, 0, 4);
  const s: { -readonly [K in keyof SenseData]: SenseData[K] } = { key, asc: get8(b, 2), ascq: get8(b, 3) };
  if (deferred) s.deferred = true;
  const end = b.length > 7 ? Math.min(b.length, SENSE_DESC_HEADER_LEN + b[7]) : 0;
  // Each descriptor is at least 2 bytes, so the walk ends after at most 128 steps.
  for (let o = SENSE_DESC_HEADER_LEN; o + 2 <= end; ) {
    const type = b[o];
    const addLen = b[o + 1];
    if (o + 2 + addLen > end) break;
    if (type === SENSE_DESC_INFORMATION && addLen >= 0x0a) s.information = get64(b, o + 4);
    else if (type === SENSE_DESC_COMMAND_SPECIFIC && addLen >= 0x0a) s.commandSpecific = get64(b, o + 4);
    else if (type === SENSE_DESC_SENSE_KEY_SPECIFIC && addLen >= 6) {
      const sks = decodeSks(key, b, o + 4);
      if (sks !== undefined) s.sks = sks;
    } else if (type === SENSE_DESC_FRU && addLen >= 2) s.fru = b[o + 3];
    else if (type === SENSE_DESC_BLOCK_COMMANDS && addLen >= 2 && bit(b, o + 3, 5)) s.ili = true;
    o += 2 + addLen;
  }
  return s;
}

/* ---- QEMU's key/ASC/ASCQ view and format conversion (scsi/utils.c) ---- */

/** Bit 1 of the response code tells the formats apart (0x70/0x71 fixed, 0x72/0x73 descriptor). */
const isFixedBuf = (b: Uint8Array): boolean => (b[0] & 2) === 0;

/**
 * Key, ASC and ASCQ of a sense buffer, as QEMU's scsi_parse_sense_buf reads them: a buffer too
 * short to hold them (fixed < 14 bytes, descriptor < 4) is I/O PROCESS TERMINATED; an empty one
 * is NO SENSE. Unlike QEMU, the key is masked to its four bits (QEMU copies fixed byte 2 whole,
 * ILI and EOM included).
 */
export function parseSenseCode(b: Uint8Array): SenseCode {
  if (b.length === 0) return SENSE_CODE.NO_SENSE;
  if (isFixedBuf(b)) return b.length < 14 ? SENSE_CODE.IO_ERROR : { key: b[2] & 0xf, asc: b[12], ascq: b[13] };
  return b.length < 4 ? SENSE_CODE.IO_ERROR : { key: b[1] & 0xf, asc: b[2], ascq: b[3] };
}

/** QEMU's scsi_build_sense_buf: 18 bytes fixed or 8 bytes descriptor, cut to `size`. */
export function buildSense(code: SenseCode, format: SenseFormat, size: number = SCSI_SENSE_BUFFERSIZE): Uint8Array {
  const full = encodeSense(senseOf(code), format);
  return full.slice(0, Math.max(0, Math.min(size, full.length)));
}

/**
 * QEMU's scsi_convert_sense: sense in either format into at most `len` bytes of the other. The
 * same format is copied (cut to `len`); across formats only key, ASC and ASCQ survive, as in
 * QEMU. No input sense gives NO SENSE.
 */
export function convertSense(input: Uint8Array, len: number, format: SenseFormat): Uint8Array {
  const size = Math.max(0, len);
  if (input.length === 0) return buildSense(SENSE_CODE.NO_SENSE, format, size);
  if ((format === 'fixed') === isFixedBuf(input)) return input.slice(0, Math.min(size, input.length));
  return buildSense(parseSenseCode(input), format, size);
}
