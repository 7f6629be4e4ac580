/**
 * Reading and writing the snapshot table of an image (block/qcow2-snapshot.c
 * qcow2_do_read_snapshots, qcow2_write_snapshots).
 *
 * The table is read from the image each time it is needed rather than kept in the
 * state: it is small, and what is on disk is then what the driver acts on, after a
 * power cut as before. Reading is bounded as QEMU bounds it: at most 1024 bytes of
 * extra data per entry and 64 MiB of table (with `repair`, what lies beyond is dropped
 * and reported, as `qemu-img check -r all` does).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { ioError, STRERROR } from '../../../errors.js';
import { flushCaches } from '../header-update.js';
import { allocClusters, freeClusters } from '../refcounts.js';
import { isIoError, type Qcow2State } from '../state.js';
import { preWriteOverlapCheck } from '../check/overlap.js';
import {
  decodeKnownExtra,
  decodeName,
  decodeSnapshotHeader,
  encodeSnapshotTable,
  NO_ICOUNT,
  QCOW_MAX_SNAPSHOT_EXTRA_DATA,
  QCOW_MAX_SNAPSHOTS_SIZE,
  SNAPSHOT_EXTRA_SIZE,
  SNAPSHOT_HEADER_SIZE,
  type QcowSnapshot,
} from './format.js';

/** The header fields nb_snapshots (u32) and snapshots_offset (u64), written together. */
export const OFF_NB_SNAPSHOTS = 60;

export interface SnapshotTable {
  readonly list: QcowSnapshot[];
  /** Bytes from snapshots_offset to the end of the last entry (QEMU's snapshots_size). */
  readonly size: number;
  /** With repair: entries dropped off the end (the table was too big). */
  readonly reduced: number;
  /** With repair: entries whose extra data was cut to 1024 bytes. */
  readonly extraDropped: number;
}

const INT_MAX = 2 ** 31 - 1;
const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/**
 * qcow2_do_read_snapshots: the `nb` entries at `offset`. Without `repair` a table QEMU
 * would refuse is an error (its message and hint); with it the excess is dropped and
 * `messages` says so.
 */
export function readSnapshotTable(
  s: Qcow2State,
  nb: number,
  offset: number,
  repair: boolean,
  messages: string[],
  acct: IoAcct,
): E.Either<string, SnapshotTable> {
  const list: QcowSnapshot[] = [];
  let reduced = 0;
  let extraDropped = 0;
  if (nb === 0) return E.right({ list, size: 0, reduced, extraDropped });
  const read = (at: number, n: number): Uint8Array | BlockIoError => {
    const b = new Uint8Array(n);
    return s.file.preadv(at, b, acct) ?? b;
  };
  const failed = (e: BlockIoError): E.Either<string, never> => E.left(`Failed to read snapshot table: ${STRERROR[e.errno]}`);
  let pos = offset;
  let tableLength = 0;
  for (let i = 0; i < nb; i++) {
    const pre = pos;
    tableLength = align8(tableLength);
    pos = align8(pos);
    const hb = read(pos, SNAPSHOT_HEADER_SIZE);
    if (isIoError(hb)) return failed(hb);
    pos += SNAPSHOT_HEADER_SIZE;
    const h = decodeSnapshotHeader(hb);
    let extraSize = h.extraDataSize;
    let truncate = false;
    if (extraSize > QCOW_MAX_SNAPSHOT_EXTRA_DATA) {
      if (!repair) return E.left(`Too much extra metadata in snapshot table entry ${i}\nYou can force-remove this extra metadata with qemu-img check -r all`);
      messages.push(`Discarding too much extra metadata in snapshot table entry ${i} (${extraSize} > ${QCOW_MAX_SNAPSHOT_EXTRA_DATA})`);
      extraDropped++;
      truncate = true;
    }
    const known = read(pos, Math.min(SNAPSHOT_EXTRA_SIZE, extraSize));
    if (isIoError(known)) return failed(known);
    pos += known.length;
    const x = decodeKnownExtra(known);
    let unknownExtra: Uint8Array = new Uint8Array(0);
    if (extraSize > SNAPSHOT_EXTRA_SIZE) {
      const end = pos + extraSize - SNAPSHOT_EXTRA_SIZE;
      if (truncate) extraSize = QCOW_MAX_SNAPSHOT_EXTRA_DATA;
      const u = read(pos, extraSize - SNAPSHOT_EXTRA_SIZE);
      if (isIoError(u)) return failed(u);
      unknownExtra = u;
      pos = end;
    }
    const id = read(pos, h.idSize);
    if (isIoError(id)) return failed(id);
    pos += h.idSize;
    const name = read(pos, h.nameSize);
    if (isIoError(name)) return failed(name);
    pos += h.nameSize;
    list.push({
      l1TableOffset: h.l1TableOffset,
      l1Size: h.l1Size,
      id: decodeName(id),
      name: decodeName(name),
      dateSec: h.dateSec,
      dateNsec: h.dateNsec,
      vmClockNs: h.vmClockNs,
      vmStateSize: x.vmStateSizeLarge ?? h.vmStateSize,
      diskSize: x.diskSize ?? s.size,
      icount: x.icount ?? NO_ICOUNT,
      extraDataSize: extraSize,
      unknownExtra,
    });
    tableLength += SNAPSHOT_HEADER_SIZE + extraSize + h.idSize + h.nameSize;
    if (tableLength > QCOW_MAX_SNAPSHOTS_SIZE || pos - offset > INT_MAX) {
      const over = nb - i;
      if (!repair) return E.left(`Snapshot table is too big\nYou can force-remove all ${over} overhanging snapshots with qemu-img check -r all`);
      messages.push(`Discarding ${over} overhanging snapshots (snapshot table is too big)`);
      reduced += over;
      list.pop();
      pos = pre;
      break;
    }
  }
  return E.right({ list, size: pos - offset, reduced, extraDropped });
}

/** The image's table as its header (in the state) describes it, QEMU's open-time reading. */
export function loadSnapshots(s: Qcow2State, acct: IoAcct): E.Either<string, SnapshotTable> {
  const t = readSnapshotTable(s, s.nbSnapshots, s.snapshotsOffset, false, [], acct);
  if (E.isRight(t)) s.snapshotView = t.right;
  return t;
}

/**
 * qcow2_write_snapshots: `list` written to newly allocated clusters, synced, then the
 * header switched to it and the old table freed. `old` is the table being replaced.
 * An empty list leaves no table (offset 0), as qemu-img 7.2 does.
 */
export function writeSnapshotTable(s: Qcow2State, list: readonly QcowSnapshot[], old: SnapshotTable, acct: IoAcct): BlockIoError | null {
  const table = encodeSnapshotTable(list);
  if (!table) return ioError('EINVAL', `${s.nodeName}: File too large: the snapshot table would exceed ${QCOW_MAX_SNAPSHOTS_SIZE} bytes`);
  let at = 0;
  if (table.length > 0) {
    const r = allocClusters(s, table.length, acct);
    if (isIoError(r)) return r;
    at = r;
    const undo = (err: BlockIoError): BlockIoError => {
      freeClusters(s, at, table.length, 'always', acct);
      return err;
    };
    let err = flushCaches(s, acct);
    if (err) return undo(err);
    err = preWriteOverlapCheck(s, 0, at, table.length, old, acct);
    if (err) return err;
    err = s.file.pwritev(at, table, {}, acct) ?? flushCaches(s, acct);
    if (err) return undo(err);
  }
  const hdr = new Uint8Array(12);
  const v = new DataView(hdr.buffer);
  v.setUint32(0, list.length);
  v.setBigUint64(4, BigInt(at));
  let err = s.file.pwritev(OFF_NB_SNAPSHOTS, hdr, {}, acct);
  if (err) {
    if (at) freeClusters(s, at, table.length, 'always', acct);
    return err;
  }
  const oldOffset = s.snapshotsOffset;
  s.snapshotsOffset = at;
  s.nbSnapshots = list.length;
  s.snapshotView = { list, size: table.length };
  // Only once the header is synced may the old table go. If the sync fails the header on
  // disk may name either table, so both are kept (QEMU frees the new one: a header that
  // reached the disk would then name freed clusters); the old one leaks if it is unused.
  err = s.file.flush(acct);
  if (err) return err;
  if (oldOffset && old.size) freeClusters(s, oldOffset, old.size, 'snapshot', acct);
  return null;
}
