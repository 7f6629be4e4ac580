/**
 * Finding logical units (drivers/scsi/scsi_scan.c).
 *
 *   scsi_scan_host          every target of every channel, in order
 *   __scsi_scan_target      probe LUN 0; if anything answers there, REPORT LUNS and probe
 *                           each LUN listed; if REPORT LUNS is not possible (a device
 *                           older than SCSI-3) or fails, probe LUN 1, 2… in turn and stop
 *                           at the first that is not there (scsi_sequential_lun_scan)
 *   scsi_probe_and_add_lun  INQUIRY (36 bytes, then the length the device reports, at
 *                           most 255), retried on a power-on or reset unit attention;
 *                           peripheral qualifier 3, or 1 with type 1Fh, means "a target
 *                           answers but no LU is here"; else the device is added: its
 *                           INQUIRY fields kept, its VPD pages fetched, its upper driver
 *                           told (sd binds disks)
 *
 * Every loop is bounded: targets by the host's max_id, LUNs by the REPORT LUNS buffer
 * (at most 16384 entries) or max_luns, pages by their 16-bit lengths.
 */
import * as E from 'fp-ts/lib/Either.js';
import { INQUIRY_STANDARD_LEN, decodeStandardInquiry } from '../../hw/scsi/inquiry.js';
import { INQUIRY, REPORT_LUNS } from '../../hw/scsi/opcodes.js';
import { REPORT_LUNS_HEADER_LEN, SCSI_LUN_LEN, decodeReportLuns, scsilunToInt } from '../../hw/scsi/report-luns.js';
import { SD_TIMEOUT_MS } from './cmnd.js';
import { SCSI_3, ScsiDevice } from './device.js';
import { SCSI_EXEC_MAX_BUFFER, executeRetryingUa } from './execute.js';
import type { ScsiHost } from './host.js';
import { attachVpd } from './vpd.js';

export type ScanResult = 'no-response' | 'target-present' | 'lun-present';

/** max_luns: the most LUNs a sequential scan probes (CONFIG_SCSI_MULTI_LUN). */
export const MAX_SCSI_LUNS = 512;
/** max_scsi_report_luns: the first REPORT LUNS asks room for this many. */
export const MAX_SCSI_REPORT_LUNS = 511;

const inquiryCdb = (len: number): Uint8Array => Uint8Array.of(INQUIRY, 0, 0, (len >> 8) & 0xff, len & 0xff, 0);

/** What the scan learned about a target from LUN 0 (starget->scsi_level). */
const targetLevel = new WeakMap<ScsiHost, Map<string, number>>();

function levelOf(inq: Uint8Array): number {
  // scsi_add_lun: ANSI version + 1 from SCSI-2 up (version 1 with response format 1 too).
  const v = inq[2] & 0x0f;
  return v >= 2 || (v === 1 && (inq[3] & 0x0f) === 1) ? v + 1 : v;
}

/** scsi_probe_lun: the INQUIRY data, or undefined when nothing answered. */
function probeLun(sdev: ScsiDevice, done: (inq: Uint8Array | undefined) => void): void {
  executeRetryingUa(sdev, inquiryCdb(INQUIRY_STANDARD_LEN), { dataIn: INQUIRY_STANDARD_LEN, retries: 3, timeoutMs: SD_TIMEOUT_MS }, 3, (r) => {
    if (!r.ok || r.data.length < 5) return done(undefined);
    const responseLen = r.data[4] + 5;
    if (responseLen <= INQUIRY_STANDARD_LEN) return done(r.data);
    const len = Math.min(responseLen, 255);
    executeRetryingUa(sdev, inquiryCdb(len), { dataIn: len, retries: 3, timeoutMs: SD_TIMEOUT_MS }, 3, (r2) => done(r2.ok && r2.data.length >= 5 ? r2.data : r.data));
  });
}

/** scsi_probe_and_add_lun. */
export function probeAndAddLun(host: ScsiHost, channel: number, id: number, lun: number, done: (r: ScanResult, sdev?: ScsiDevice) => void): void {
  const existing = host.lookup(channel, id, lun);
  if (existing !== undefined && existing.state === 'running') return done('lun-present', existing);
  const sdev = new ScsiDevice(host, channel, id, lun);
  host.template.sdevInit?.(sdev);
  probeLun(sdev, (inq) => {
    if (inq === undefined) return done('no-response');
    if (lun === 0) {
      const m = targetLevel.get(host) ?? new Map<string, number>();
      targetLevel.set(host, m);
      m.set(`${channel}:${id}`, levelOf(inq));
    }
    const pq = inq[0] >> 5;
    const type = inq[0] & 0x1f;
    if (pq === 3 || (pq === 1 && type === 0x1f)) return done('target-present');
    addLun(sdev, inq, () => done('lun-present', sdev));
  });
}

/** scsi_add_lun: keep what INQUIRY said, fetch the VPD pages, announce the device. */
function addLun(sdev: ScsiDevice, inq: Uint8Array, done: () => void): void {
  const host = sdev.host;
  sdev.inquiryLen = inq.length;
  sdev.type = inq[0] & 0x1f;
  sdev.removable = (inq[1] & 0x80) !== 0;
  sdev.scsiLevel = levelOf(inq);
  sdev.tagged = inq.length > 7 && (inq[7] & 0x02) !== 0;
  const d = decodeStandardInquiry(inq);
  if (E.isRight(d)) {
    sdev.inquiry = d.right;
    sdev.vendor = d.right.vendor;
    sdev.model = d.right.product;
    sdev.rev = d.right.revision;
  }
  if (!sdev.tagged) sdev.queueDepth = 1;
  sdev.state = 'running';
  host.devices.set(`${sdev.channel}:${sdev.id}:${sdev.lun}`, sdev);
  host.note(`${sdev.hctl}: ${sdev.type === 0 ? 'Direct-Access' : `type 0x${sdev.type.toString(16)}`} ${sdev.vendor} ${sdev.model} ${sdev.rev} ANSI: ${Math.max(0, sdev.scsiLevel - 1)}`);
  attachVpd(sdev, () => (host.onDeviceAdded ? host.onDeviceAdded(sdev, done) : done()));
}

/** scsi_report_lun_scan. `false`: REPORT LUNS was not possible or failed; scan sequentially. */
function reportLunScan(host: ScsiHost, channel: number, id: number, done: (ok: boolean) => void): void {
  const level = targetLevel.get(host)?.get(`${channel}:${id}`) ?? 0;
  if (level < SCSI_3) return done(false);
  const lun0 = host.lookup(channel, id, 0) ?? new ScsiDevice(host, channel, id, 0);
  if (lun0.state !== 'running') host.template.sdevInit?.(lun0);
  const ask = (length: number, triesLeft: number): void => {
    const cdb = new Uint8Array(12);
    cdb[0] = REPORT_LUNS;
    cdb.set([(length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff], 6);
    executeRetryingUa(lun0, cdb, { dataIn: length, retries: 3, timeoutMs: SD_TIMEOUT_MS }, 3, (r) => {
      const d = r.ok ? decodeReportLuns(r.data) : undefined;
      if (d === undefined || E.isLeft(d)) return done(false);
      const need = d.right.listLength + REPORT_LUNS_HEADER_LEN;
      if (need > length && length < SCSI_EXEC_MAX_BUFFER && triesLeft > 0) return ask(Math.min(need, SCSI_EXEC_MAX_BUFFER), triesLeft - 1);
      host.note(`${channel}:${id}: REPORT LUNS: ${d.right.luns.length} LUN(s)`);
      probeListed(host, channel, id, d.right.luns, () => done(true));
    });
  };
  ask((MAX_SCSI_REPORT_LUNS + 1) * SCSI_LUN_LEN, 1);
}

function probeListed(host: ScsiHost, channel: number, id: number, luns: readonly Uint8Array[], done: () => void): void {
  const each = (i: number): void => {
    if (i === luns.length) return done();
    const lun = scsilunToInt(luns[i]);
    if (lun >= BigInt(host.maxLun)) {
      host.note(`${channel}:${id}: lun${lun} has a LUN larger than allowed by the host adapter`);
      return each(i + 1);
    }
    probeAndAddLun(host, channel, id, Number(lun), (r) => {
      if (r === 'no-response') {
        host.note(`${channel}:${id}: Unexpected response from lun ${lun} while scanning, scan aborted`);
        return done();
      }
      each(i + 1);
    });
  };
  each(0);
}

/** scsi_sequential_lun_scan: LUN 1, 2… until one is not there. */
function sequentialLunScan(host: ScsiHost, channel: number, id: number, done: () => void): void {
  const level = targetLevel.get(host)?.get(`${channel}:${id}`) ?? 0;
  const max = Math.min(level < SCSI_3 ? 8 : MAX_SCSI_LUNS, host.maxLun);
  const each = (lun: number): void => {
    if (lun >= max) return done();
    probeAndAddLun(host, channel, id, lun, (r) => (r === 'lun-present' ? each(lun + 1) : done()));
  };
  each(1);
}

/** __scsi_scan_target. */
export function scanTarget(host: ScsiHost, channel: number, id: number, done: () => void): void {
  probeAndAddLun(host, channel, id, 0, (r) => {
    if (r === 'no-response') return done();
    reportLunScan(host, channel, id, (ok) => (ok ? done() : sequentialLunScan(host, channel, id, done)));
  });
}

/** scsi_scan_host: every target on every channel. */
export function scanHost(host: ScsiHost, done: () => void): void {
  const targets: [number, number][] = [];
  for (let c = 0; c <= host.maxChannel; c++) for (let t = 0; t < host.maxId; t++) targets.push([c, t]);
  const each = (i: number): void => {
    if (i === targets.length) return done();
    scanTarget(host, targets[i][0], targets[i][1], () => each(i + 1));
  };
  each(0);
}

/** scsi_add_device: probe one LUN (a hot-plug event). */
export function addDevice(host: ScsiHost, channel: number, id: number, lun: number, done: (sdev?: ScsiDevice) => void): void {
  probeAndAddLun(host, channel, id, lun, (r, sdev) => done(r === 'lun-present' ? sdev : undefined));
}

/** scsi_remove_device: the device goes; its upper driver is told. */
export function removeDevice(sdev: ScsiDevice): void {
  if (sdev.state === 'del') return;
  sdev.state = 'cancel';
  sdev.removed?.();
  sdev.state = 'del';
  sdev.host.devices.delete(`${sdev.channel}:${sdev.id}:${sdev.lun}`);
  sdev.host.note(`${sdev.hctl}: removed`);
}

/** scsi_rescan_device: VPD pages again, then the upper driver revalidates (capacity, cache). */
export function rescanDevice(sdev: ScsiDevice, done: () => void = () => undefined): void {
  if (!sdev.online) return done();
  attachVpd(sdev, () => {
    sdev.rescan?.();
    done();
  });
}
