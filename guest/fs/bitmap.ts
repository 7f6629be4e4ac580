/** Block and inode bitmaps: bit i of byte i/8 (LSB first), one bit per block or inode of a group. */

export const testBit = (b: Uint8Array, i: number): boolean => (b[i >> 3] & (1 << (i & 7))) !== 0;
export function setBit(b: Uint8Array, i: number): void {
  b[i >> 3] |= 1 << (i & 7);
}
export function clearBit(b: Uint8Array, i: number): void {
  b[i >> 3] &= ~(1 << (i & 7));
}

/** The first clear bit in [from, to) that `skip` does not reject, or -1. */
export function findClear(b: Uint8Array, from: number, to: number, skip?: (i: number) => boolean): number {
  for (let i = from; i < to; i++) {
    if ((i & 7) === 0 && b[i >> 3] === 0xff && i + 8 <= to) {
      i += 7;
      continue;
    }
    if (!testBit(b, i) && !(skip?.(i) ?? false)) return i;
  }
  return -1;
}

/** Number of set bits in [0, n). */
export function countSet(b: Uint8Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (testBit(b, i)) c++;
  return c;
}
