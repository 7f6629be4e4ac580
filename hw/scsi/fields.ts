/**
 * Table-driven layouts for the fixed-format SCSI structures (mode pages, VPD pages): each field
 * named once with its byte offset and bits, so one table gives both the decoder and the encoder
 * and the byte map can be read off the table like the spec's.
 *
 *   const CACHING = { wce: F.bit(2, 2), rcd: F.bit(2, 0), maximumPrefetch: F.u16(8) } satisfies Layout;
 *   readLayout(CACHING, page)  →  Right({ wce: true, rcd: false, maximumPrefetch: 0xffff })
 *
 * Offsets are from the structure's first byte. Bytes past the buffer read as zero (a page the
 * device cut short); a 64-bit field beyond 2^53 - 1 is refused.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get16, get24, get32, get64, get64Safe, get8, put16, put24, put32, put64 } from './bytes.js';

export type FieldSpec =
  | { readonly kind: 'bit'; readonly byte: number; readonly bit: number }
  | { readonly kind: 'bits'; readonly byte: number; readonly shift: number; readonly width: number }
  | { readonly kind: 'u8' | 'u16' | 'u24' | 'u32' | 'u64'; readonly byte: number }
  /** The low 31 bits of a big-endian 32-bit word whose top bit is another field. */
  | { readonly kind: 'u31'; readonly byte: number };

export type Layout = Readonly<Record<string, FieldSpec>>;

export type LayoutValue<L extends Layout> = { readonly [K in keyof L]: L[K] extends { kind: 'bit' } ? boolean : number };

export const F = {
  bit: (byte: number, bit: number) => ({ kind: 'bit', byte, bit }) as const,
  bits: (byte: number, shift: number, width: number) => ({ kind: 'bits', byte, shift, width }) as const,
  u8: (byte: number) => ({ kind: 'u8', byte }) as const,
  u16: (byte: number) => ({ kind: 'u16', byte }) as const,
  u24: (byte: number) => ({ kind: 'u24', byte }) as const,
  u32: (byte: number) => ({ kind: 'u32', byte }) as const,
  u31: (byte: number) => ({ kind: 'u31', byte }) as const,
  u64: (byte: number) => ({ kind: 'u64', byte }) as const,
};

/** The largest value a field holds. */
export function fieldMax(f: FieldSpec): number {
  switch (f.kind) {
    case 'bit':
      return 1;
    case 'bits':
      return (1 << f.width) - 1;
    case 'u8':
      return 0xff;
    case 'u16':
      return 0xffff;
    case 'u24':
      return 0xff_ffff;
    case 'u32':
      return 0xffff_ffff;
    case 'u31':
      return 0x7fff_ffff;
    case 'u64':
      return Number.MAX_SAFE_INTEGER;
  }
}

/** A 64-bit field that does not fit a safe integer. */
export interface LayoutOverflow {
  readonly field: string;
  readonly value: bigint;
}

export function readLayout<L extends Layout>(layout: L, b: Uint8Array): E.Either<LayoutOverflow, LayoutValue<L>> {
  const out: Record<string, number | boolean> = {};
  for (const [name, f] of Object.entries(layout)) {
    switch (f.kind) {
      case 'bit':
        out[name] = ((get8(b, f.byte) >> f.bit) & 1) === 1;
        break;
      case 'bits':
        out[name] = (get8(b, f.byte) >> f.shift) & ((1 << f.width) - 1);
        break;
      case 'u8':
        out[name] = get8(b, f.byte);
        break;
      case 'u16':
        out[name] = get16(b, f.byte);
        break;
      case 'u24':
        out[name] = get24(b, f.byte);
        break;
      case 'u32':
        out[name] = get32(b, f.byte);
        break;
      case 'u31':
        out[name] = get32(b, f.byte) % 0x8000_0000;
        break;
      case 'u64': {
        const v = get64Safe(b, f.byte);
        if (v === undefined) return E.left({ field: name, value: get64(b, f.byte) });
        out[name] = v;
      }
    }
  }
  return E.right(out as LayoutValue<L>);
}

/** Write the fields into `b` (which holds the structure's bytes, zeroed where no field lies). */
export function writeLayout<L extends Layout>(layout: L, v: LayoutValue<L>, b: Uint8Array): void {
  for (const [name, f] of Object.entries(layout)) {
    const x = (v as Record<string, number | boolean>)[name];
    const n = typeof x === 'boolean' ? (x ? 1 : 0) : x;
    switch (f.kind) {
      case 'bit':
      case 'bits': {
        const mask = f.kind === 'bit' ? 1 : (1 << f.width) - 1;
        const shift = f.kind === 'bit' ? f.bit : f.shift;
        b[f.byte] = (b[f.byte] & ~(mask << shift)) | ((n & mask) << shift);
        break;
      }
      case 'u8':
        b[f.byte] = n & 0xff;
        break;
      case 'u16':
        put16(b, f.byte, n);
        break;
      case 'u24':
        put24(b, f.byte, n);
        break;
      case 'u32':
        put32(b, f.byte, n);
        break;
      case 'u31': {
        const top = b[f.byte] & 0x80;
        put32(b, f.byte, n % 0x8000_0000);
        b[f.byte] |= top;
        break;
      }
      case 'u64':
        put64(b, f.byte, n);
    }
  }
}

/** Every field zero or false: a base to spread named values over. */
export function zeroLayout<L extends Layout>(layout: L): LayoutValue<L> {
  const out: Record<string, number | boolean> = {};
  for (const [name, f] of Object.entries(layout)) out[name] = f.kind === 'bit' ? false : 0;
  return out as LayoutValue<L>;
}
