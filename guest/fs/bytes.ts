/**
 * Byte helpers for the on-disk formats: ext2 structures are little-endian, JBD2 (journal)
 * structures are big-endian. Readers never throw: the callers pass whole blocks and in-range
 * offsets (the structures have fixed sizes), so a read past the end is a simulator bug.
 */

export const le16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
export const le32 = (b: Uint8Array, o: number): number =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
export const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const be32 = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
/** A big-endian u64 as a number (exact below 2^53). */
export const be64 = (b: Uint8Array, o: number): number => be32(b, o) * 2 ** 32 + be32(b, o + 4);

export function setLe16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function setLe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
export function setBe16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function setBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
export function setBe64(b: Uint8Array, o: number, v: number): void {
  setBe32(b, o, Math.floor(v / 2 ** 32));
  setBe32(b, o + 4, v >>> 0);
}

/** The low 32 bits and the high 32 bits of a non-negative integer below 2^53. */
export const lo32 = (v: number): number => v >>> 0;
export const hi32 = (v: number): number => Math.floor(v / 2 ** 32) >>> 0;

export const copyBytes = (b: Uint8Array, o: number, n: number): Uint8Array => b.slice(o, o + n);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });
export const encodeName = (s: string): Uint8Array => utf8.encode(s);
/** Decodes a name; invalid UTF-8 (a corrupt entry) becomes U+FFFD, never an exception. */
export const decodeName = (b: Uint8Array): string => utf8d.decode(b);

export const hex = (n: number): string => `0x${n.toString(16)}`;
