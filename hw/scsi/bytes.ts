/**
 * Big-endian field access for SCSI structures, and the error every SCSI data decoder returns.
 *
 * SCSI is big-endian throughout (SPC-4 §3.5.2: "the most significant byte first"). Writers
 * store a value modulo the field's width, as C stores into a `u8`/`__be32`: the caller keeps
 * values in range. Readers never run past the buffer: a missing byte reads as 0, and the
 * decoders check lengths first and answer a `ScsiDataError` instead.
 */

/** Why a SCSI data structure (parameter data, VPD page, sense, ...) could not be decoded. */
export type ScsiDataError =
  /** Fewer bytes than the structure's fixed part. */
  | { readonly _tag: 'Truncated'; readonly what: string; readonly needed: number; readonly got: number }
  /** A field holds a value the structure does not allow. */
  | { readonly _tag: 'BadField'; readonly what: string; readonly field: string; readonly value: number | bigint }
  /** A 64-bit count or address beyond what the simulator represents exactly (2^53 - 1). */
  | { readonly _tag: 'Unrepresentable'; readonly what: string; readonly field: string; readonly value: bigint };

export function scsiDataErrorMessage(e: ScsiDataError): string {
  switch (e._tag) {
    case 'Truncated':
      return `${e.what}: ${e.got} bytes, at least ${e.needed} needed`;
    case 'BadField':
      return `${e.what}: ${e.field} = ${e.value} is not allowed`;
    case 'Unrepresentable':
      return `${e.what}: ${e.field} = ${e.value} is beyond 2^53 - 1`;
  }
}

export const truncated = (what: string, needed: number, got: number): ScsiDataError => ({ _tag: 'Truncated', what, needed, got });

const TWO32 = 0x1_0000_0000;

export function get8(b: Uint8Array, o: number): number {
  return o < b.length ? b[o] : 0;
}

export function get16(b: Uint8Array, o: number): number {
  return (get8(b, o) << 8) | get8(b, o + 1);
}

export function get24(b: Uint8Array, o: number): number {
  return (get8(b, o) << 16) | (get8(b, o + 1) << 8) | get8(b, o + 2);
}

export function get32(b: Uint8Array, o: number): number {
  return get8(b, o) * 0x100_0000 + get24(b, o + 1);
}

/** A big-endian 64-bit field, exactly. */
export function get64(b: Uint8Array, o: number): bigint {
  return (BigInt(get32(b, o)) << 32n) | BigInt(get32(b, o + 4));
}

/** A big-endian 64-bit field as a number, or undefined when it is beyond 2^53 - 1. */
export function get64Safe(b: Uint8Array, o: number): number | undefined {
  const hi = get32(b, o);
  if (hi > 0x1f_ffff) return undefined;
  return hi * TWO32 + get32(b, o + 4);
}

export function put8(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put24(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 16) & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  const x = ((v % TWO32) + TWO32) % TWO32;
  b[o] = Math.floor(x / 0x100_0000) & 0xff;
  put24(b, o + 1, x % 0x100_0000);
}

/** Store a 64-bit field: a non-negative safe integer or a bigint (taken modulo 2^64). */
export function put64(b: Uint8Array, o: number, v: number | bigint): void {
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    put32(b, o, Math.floor(v / TWO32));
    put32(b, o + 4, v % TWO32);
    return;
  }
  const x = BigInt.asUintN(64, BigInt(v));
  put32(b, o, Number(x >> 32n));
  put32(b, o + 4, Number(x & 0xffff_ffffn));
}

export const bit = (b: Uint8Array, o: number, n: number): boolean => ((get8(b, o) >> n) & 1) === 1;
export const bits = (b: Uint8Array, o: number, shift: number, width: number): number => (get8(b, o) >> shift) & ((1 << width) - 1);
export const flag = (on: boolean, n: number): number => (on ? 1 << n : 0);

/** Bytes as text, one character per byte (ISO 8859-1), trailing spaces and NULs removed. */
export function asciiField(b: Uint8Array, o: number, len: number): string {
  let s = '';
  for (let i = o; i < o + len && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s.replace(/[ \0]+$/, '');
}

/** Write `s` into a `len`-byte field padded with spaces (QEMU's strpadcpy); longer text is cut. */
export function putAsciiField(b: Uint8Array, o: number, len: number, s: string): void {
  for (let i = 0; i < len; i++) b[o + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0x20;
}

/** Text as bytes, one byte per character (low 8 bits). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function latin1Text(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}
