/**
 * Internal snapshots as qemu-img prints them: the table of bdrv_snapshot_dump (`snapshot
 * -l` and `info`) and the SnapshotInfo JSON of `info --output=json`.
 */
import type { SnapshotInfo } from '../../host/storage/image-api.js';
import { sizeToStr, type QDict } from './output.js';

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const two = (n: number): string => String(n).padStart(2, '0');

/** The date as "%Y-%m-%d %H:%M:%S" in the host's time zone (g_date_time_new_from_unix_local). */
function localDate(sec: number): string {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function vmClock(ns: number): string {
  const secs = Math.floor(ns / 1e9);
  const ms = Math.floor(ns / 1e6) % 1000;
  return `${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}.${String(ms).padStart(3, '0')}`;
}

/** The header and one line per snapshot, each ending in a newline. */
export function snapshotTable(list: readonly SnapshotInfo[]): string {
  let s = `${pad('ID', 10)}${pad('TAG', 17)}${lpad('VM SIZE', 8)}${lpad('DATE', 20)}${lpad('VM CLOCK', 13)}${lpad('ICOUNT', 11)}\n`;
  for (const sn of list) {
    const icount = sn.icount === undefined ? '' : String(sn.icount);
    s += `${pad(sn.id, 9)} ${pad(sn.name, 16)} ${lpad(sizeToStr(sn.vmStateSize), 8)}${lpad(localDate(sn.dateSec), 20)}${lpad(vmClock(sn.vmClockNs), 13)}${lpad(icount, 11)}\n`;
  }
  return s;
}

/** SnapshotInfo (qapi/block-core.json), fields in schema order. */
export function snapshotJson(sn: SnapshotInfo): QDict {
  return {
    id: sn.id,
    name: sn.name,
    'vm-state-size': sn.vmStateSize,
    'date-sec': sn.dateSec,
    'date-nsec': sn.dateNsec,
    'vm-clock-sec': Math.floor(sn.vmClockNs / 1e9),
    'vm-clock-nsec': sn.vmClockNs % 1e9,
    icount: sn.icount,
  };
}
