/**
 * The snapshot table (docs/interop/qcow2.txt, "Snapshots"): `nb_snapshots` entries from
 * `snapshots_offset`, each starting on an 8-byte boundary, big-endian:
 *
 *    0 l1_table_offset (u64)   8 l1_size (u32)        12 id_str_size (u16)  14 name_size (u16)
 *   16 date_sec (u32)         20 date_nsec (u32)      24 vm_clock_nsec (u64)
 *   32 vm_state_size (u32)    36 extra_data_size (u32)
 *   40 extra data: 0 vm_state_size_large (u64), 8 disk_size (u64), 16 icount (u64), unknown rest
 *      then the unique ID string and the name, neither NUL-terminated.
 *
 * Pure codecs here; `table.ts` reads and writes the table in an image. The limits are
 * QEMU 7.2's (block/qcow2.h): at most 1024 bytes of extra data per entry, 64 MiB of table.
 */

export const SNAPSHOT_HEADER_SIZE = 40;
/** sizeof(QCowSnapshotExtraData) in QEMU 7.2: what QEMU writes into every entry. */
export const SNAPSHOT_EXTRA_SIZE = 24;
/** v3 images need at least vm_state_size_large and disk_size. */
export const SNAPSHOT_EXTRA_V3_MIN = 16;
export const QCOW_MAX_SNAPSHOT_EXTRA_DATA = 1024;
export const QCOW_MAX_SNAPSHOTS_SIZE = 1024 * 65536;
/** icount when the entry holds none (QEMU's -1ULL). */
export const NO_ICOUNT = -1;

/** QCowSnapshot: one entry as QEMU keeps it in memory. */
export interface QcowSnapshot {
  readonly l1TableOffset: number;
  readonly l1Size: number;
  readonly id: string;
  readonly name: string;
  readonly dateSec: number;
  readonly dateNsec: number;
  readonly vmClockNs: number;
  readonly vmStateSize: number;
  readonly diskSize: number;
  /** NO_ICOUNT when absent. */
  readonly icount: number;
  /** extra_data_size as read (it may be larger than what QEMU knows, or smaller in old images). */
  readonly extraDataSize: number;
  /** Extra data past the known fields, kept and written back. */
  readonly unknownExtra: Uint8Array;
}

/** The fixed part of an entry. */
export interface SnapshotHeader {
  readonly l1TableOffset: number;
  readonly l1Size: number;
  readonly idSize: number;
  readonly nameSize: number;
  readonly dateSec: number;
  readonly dateNsec: number;
  readonly vmClockNs: number;
  readonly vmStateSize: number;
  readonly extraDataSize: number;
}

const u64 = (v: DataView, p: number): number => v.getUint32(p) * 2 ** 32 + v.getUint32(p + 4);
const setU64 = (v: DataView, p: number, x: number): void => {
  if (x < 0) {
    v.setUint32(p, 0xffffffff);
    v.setUint32(p + 4, 0xffffffff);
    return;
  }
  v.setUint32(p, Math.floor(x / 2 ** 32));
  v.setUint32(p + 4, x >>> 0);
};
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function decodeSnapshotHeader(b: Uint8Array): SnapshotHeader {
  const v = view(b);
  return {
    l1TableOffset: u64(v, 0),
    l1Size: v.getUint32(8),
    idSize: v.getUint16(12),
    nameSize: v.getUint16(14),
    dateSec: v.getUint32(16),
    dateNsec: v.getUint32(20),
    vmClockNs: u64(v, 24),
    vmStateSize: v.getUint32(32),
    extraDataSize: v.getUint32(36),
  };
}

/** The known extra fields present in `extra` (the first min(24, extra_data_size) bytes). */
export function decodeKnownExtra(extra: Uint8Array): { vmStateSizeLarge?: number; diskSize?: number; icount?: number } {
  const v = view(extra);
  const all1 = (p: number): boolean => v.getUint32(p) === 0xffffffff && v.getUint32(p + 4) === 0xffffffff;
  return {
    vmStateSizeLarge: extra.length >= 8 ? u64(v, 0) : undefined,
    diskSize: extra.length >= 16 ? u64(v, 8) : undefined,
    icount: extra.length >= 24 ? (all1(16) ? NO_ICOUNT : u64(v, 16)) : undefined,
  };
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** An ID or name as QEMU keeps it: a C string, cut at the first NUL. */
export function decodeName(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return utf8Decoder.decode(nul < 0 ? b : b.subarray(0, nul));
}

/** The bytes an entry takes in the table as QEMU writes it (from an 8-aligned start). */
export function encodedEntrySize(sn: QcowSnapshot): number {
  return SNAPSHOT_HEADER_SIZE + Math.max(SNAPSHOT_EXTRA_SIZE, sn.extraDataSize) + utf8.encode(sn.id).length + utf8.encode(sn.name).length;
}

/** The table's size as qcow2_write_snapshots lays it out, or undefined past QCOW_MAX_SNAPSHOTS_SIZE. */
export function encodedTableSize(list: readonly QcowSnapshot[]): number | undefined {
  let size = 0;
  for (const sn of list) {
    size = Math.ceil(size / 8) * 8 + encodedEntrySize(sn);
    if (size > QCOW_MAX_SNAPSHOTS_SIZE) return undefined;
  }
  return size;
}

/**
 * One entry as qcow2_write_snapshots writes it: a vm_state_size that does not fit 32 bits
 * is written as 0 there (older readers then see a disk-only snapshot), the known extra
 * data always, the unknown extra data kept.
 */
export function encodeSnapshot(sn: QcowSnapshot): Uint8Array {
  const id = utf8.encode(sn.id);
  const name = utf8.encode(sn.name);
  const extraSize = Math.max(SNAPSHOT_EXTRA_SIZE, sn.extraDataSize);
  const out = new Uint8Array(SNAPSHOT_HEADER_SIZE + extraSize + id.length + name.length);
  const v = view(out);
  setU64(v, 0, sn.l1TableOffset);
  v.setUint32(8, sn.l1Size);
  v.setUint16(12, id.length);
  v.setUint16(14, name.length);
  v.setUint32(16, sn.dateSec >>> 0);
  v.setUint32(20, sn.dateNsec >>> 0);
  setU64(v, 24, sn.vmClockNs);
  v.setUint32(32, sn.vmStateSize <= 0xffffffff ? sn.vmStateSize : 0);
  v.setUint32(36, extraSize);
  setU64(v, 40, sn.vmStateSize);
  setU64(v, 48, sn.diskSize);
  setU64(v, 56, sn.icount);
  out.set(sn.unknownExtra.subarray(0, extraSize - SNAPSHOT_EXTRA_SIZE), SNAPSHOT_HEADER_SIZE + SNAPSHOT_EXTRA_SIZE);
  out.set(id, SNAPSHOT_HEADER_SIZE + extraSize);
  out.set(name, SNAPSHOT_HEADER_SIZE + extraSize + id.length);
  return out;
}

/** The whole table as one buffer (entries 8-aligned), or undefined when it is too big. */
export function encodeSnapshotTable(list: readonly QcowSnapshot[]): Uint8Array | undefined {
  const size = encodedTableSize(list);
  if (size === undefined) return undefined;
  const out = new Uint8Array(size);
  let p = 0;
  for (const sn of list) {
    p = Math.ceil(p / 8) * 8;
    const e = encodeSnapshot(sn);
    out.set(e, p);
    p += e.length;
  }
  return out;
}

/** find_new_snapshot_id: one more than the largest numeric ID (strtoul: leading digits, else 0). */
export function newSnapshotId(list: readonly QcowSnapshot[]): string {
  let max = 0;
  for (const sn of list) {
    const m = /^\s*\+?(\d+)/.exec(sn.id);
    const n = m ? Number(m[1]) : 0;
    if (n > max) max = n;
  }
  return String(max + 1);
}

/** find_snapshot_by_id_and_name: both must match when both are given. */
export function findByIdAndName(list: readonly QcowSnapshot[], id: string | undefined, name: string | undefined): number {
  if (id !== undefined && name !== undefined) return list.findIndex((s) => s.id === id && s.name === name);
  if (id !== undefined) return list.findIndex((s) => s.id === id);
  if (name !== undefined) return list.findIndex((s) => s.name === name);
  return -1;
}

/** find_snapshot_by_id_or_name: the ID first, then the name. */
export function findByIdOrName(list: readonly QcowSnapshot[], idOrName: string): number {
  const byId = findByIdAndName(list, idOrName, undefined);
  return byId >= 0 ? byId : findByIdAndName(list, undefined, idOrName);
}
