/**
 * Refcount blocks (docs/interop/qcow2.txt, "Host cluster management"): one cluster of
 * refcount_bits-wide entries, refcount_bits = 1 << refcount_order (0..6, 1 to 64 bits).
 * Sub-byte widths count from the least significant bit of each byte; wider ones are
 * big-endian. The refcount table's entries are 64-bit refblock offsets (bits 9-63).
 */

export const REFTABLE_ENTRY_SIZE = 8;
export const MAX_REFCOUNT_ORDER = 6;

/** Entries one refcount block of `clusterSize` bytes holds. */
export const refblockEntries = (clusterSize: number, order: number): number => (clusterSize * 8) / 2 ** order;

/** The largest refcount an entry can hold (capped at 2^53 - 1 for 64-bit entries). */
export const refcountMax = (order: number): number => (order === 6 ? Number.MAX_SAFE_INTEGER : 2 ** 2 ** order - 1);

/** Entry `i` of `block`. 64-bit values beyond 2^53 come back inexact, but never as 0. */
export function getRefcount(block: Uint8Array, i: number, order: number): number {
  switch (order) {
    case 0:
      return (block[i >> 3] >> (i & 7)) & 1;
    case 1:
      return (block[i >> 2] >> (2 * (i & 3))) & 3;
    case 2:
      return (block[i >> 1] >> (4 * (i & 1))) & 0xf;
    case 3:
      return block[i];
    case 4:
      return (block[2 * i] << 8) | block[2 * i + 1];
    case 5: {
      const p = 4 * i;
      return ((block[p] << 24) | (block[p + 1] << 16) | (block[p + 2] << 8) | block[p + 3]) >>> 0;
    }
    default: {
      const v = new DataView(block.buffer, block.byteOffset + 8 * i, 8);
      return v.getUint32(0) * 2 ** 32 + v.getUint32(4);
    }
  }
}

/** Set entry `i` of `block` to `value` (0 ≤ value ≤ refcountMax(order)). */
export function setRefcount(block: Uint8Array, i: number, order: number, value: number): void {
  switch (order) {
    case 0:
    case 1:
    case 2: {
      const bits = 2 ** order;
      const per = 8 / bits;
      const shift = bits * (i % per);
      const mask = (2 ** bits - 1) << shift;
      const b = Math.floor(i / per);
      block[b] = (block[b] & ~mask) | ((value << shift) & mask);
      return;
    }
    case 3:
      block[i] = value;
      return;
    case 4:
      block[2 * i] = value >> 8;
      block[2 * i + 1] = value & 0xff;
      return;
    case 5:
      new DataView(block.buffer, block.byteOffset + 4 * i, 4).setUint32(0, value >>> 0);
      return;
    default: {
      const v = new DataView(block.buffer, block.byteOffset + 8 * i, 8);
      v.setUint32(0, Math.floor(value / 2 ** 32));
      v.setUint32(4, value >>> 0);
    }
  }
}

/** Refcount table entry `i`: the refblock offset (reserved low bits masked). */
export function reftableEntry(table: DataView, i: number): number {
  return table.getUint32(i * 8) * 2 ** 32 + ((table.getUint32(i * 8 + 4) & 0xfffffe00) >>> 0);
}

export function setReftableEntry(table: DataView, i: number, offset: number): void {
  table.setUint32(i * 8, Math.floor(offset / 2 ** 32));
  table.setUint32(i * 8 + 4, offset >>> 0);
}

/**
 * qcow2_refcount_metadata_size: refcount blocks and table clusters needed to count
 * `clusters` clusters and themselves; `generous` leaves room for the table to grow by half.
 */
export function refcountMetadataSize(clusters: number, clusterSize: number, order: number, generous: boolean): { bytes: number; blocks: number } {
  const perTableCluster = clusterSize / REFTABLE_ENTRY_SIZE;
  const perBlock = (clusterSize * 8) / 2 ** order;
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  do {
    last = n;
    blocks = Math.ceil((clusters + table + blocks) / perBlock);
    table = Math.ceil(blocks / perTableCluster);
    n = clusters + blocks + table;
    if (n === last && generous) {
      clusters += Math.ceil(table / 2);
      n = 0;
      generous = false;
    }
  } while (n !== last);
  return { bytes: (blocks + table) * clusterSize, blocks };
}
