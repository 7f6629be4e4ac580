/**
 * Mode pages of scsi-hd / scsi-cd and MODE SENSE / MODE SELECT (QEMU hw/scsi/scsi-disk.c
 * mode_sense_page, scsi_disk_emulate_mode_sense, scsi_disk_check_mode_select,
 * mode_select_pages, scsi_disk_emulate_mode_select).
 *
 * Pages (offsets below count from the page's first parameter byte, after code and length):
 *   0x01 read-write error recovery (10): AWRE; scsi-cd also read retry count 0x20 and a
 *        changeable AWRE
 *   0x04 rigid disk geometry (0x16, disk): cylinders, heads, precomp/reduced-current at the
 *        last cylinder, step rate 200, landing zone 0xffffff, 5400 rpm
 *   0x05 flexible disk (0x1e, disk): 5000 kbit/s, heads, sectors, block size, cylinders...
 *   0x08 caching (0x12): WCE — the one changeable bit, which MODE SELECT applies to the drive
 *   0x0e CD audio control (14, cd) and 0x2a CD capabilities (0x14, cd)
 * Page control 1 (changeable values) answers with only the changeable bits set; 3 (saved)
 * is SAVING PARAMETERS NOT SUPPORTED. A disk's block descriptor gives the capacity in
 * blocks (0 above 2^24-1) and the block size; scsi-cd has none (MMC).
 */
import { get16 } from '../../../hw/scsi/bytes.js';
import { MODE_SELECT, MODE_SENSE, SENSE, TYPE_DISK, TYPE_ROM, type SenseCode } from '../scsi-bus/defs.js';
import { nbSectors, writable, type ScsiDiskState } from './state.js';

export const MODE_PAGE_R_W_ERROR = 0x01;
export const MODE_PAGE_HD_GEOMETRY = 0x04;
export const MODE_PAGE_FLEXIBLE_DISK_GEOMETRY = 0x05;
export const MODE_PAGE_CACHING = 0x08;
export const MODE_PAGE_AUDIO_CTL = 0x0e;
export const MODE_PAGE_CAPABILITIES = 0x2a;
export const MODE_PAGE_ALLS = 0x3f;
/** SCSI_MAX_MODE_LEN. */
const SCSI_MAX_MODE_LEN = 256;

/** Which device types have each page (mode_sense_valid[]); the Apple quirk pages are not modelled. */
const VALID: ReadonlyMap<number, readonly number[]> = new Map([
  [MODE_PAGE_HD_GEOMETRY, [TYPE_DISK]],
  [MODE_PAGE_FLEXIBLE_DISK_GEOMETRY, [TYPE_DISK]],
  [MODE_PAGE_CACHING, [TYPE_DISK, TYPE_ROM]],
  [MODE_PAGE_R_W_ERROR, [TYPE_DISK, TYPE_ROM]],
  [MODE_PAGE_AUDIO_CTL, [TYPE_ROM]],
  [MODE_PAGE_CAPABILITIES, [TYPE_ROM]],
]);

/** mode_sense_page: write page `page` at `out[at]` (zeroed); its total length, or -1 when the device has no such page. */
export function modeSensePage(s: ScsiDiskState, page: number, pc: number, out: Uint8Array, at: number): number {
  if (!(VALID.get(page) ?? []).includes(s.type)) return -1;
  const p = (i: number, v: number) => (out[at + 2 + i] = v & 0xff);
  const { cyls, heads, secs } = s.conf;
  let length: number;
  switch (page) {
    case MODE_PAGE_HD_GEOMETRY:
      length = 0x16;
      if (pc === 1) break;
      p(0, cyls >> 16), p(1, cyls >> 8), p(2, cyls), p(3, heads);
      p(4, cyls >> 16), p(5, cyls >> 8), p(6, cyls); // write precompensation: disabled (last cylinder)
      p(7, cyls >> 16), p(8, cyls >> 8), p(9, cyls); // reduced write current: disabled
      p(10, 0), p(11, 200); // step rate 200 ns
      p(12, 0xff), p(13, 0xff), p(14, 0xff); // landing zone
      p(18, 5400 >> 8), p(19, 5400); // 5400 rpm
      break;
    case MODE_PAGE_FLEXIBLE_DISK_GEOMETRY:
      length = 0x1e;
      if (pc === 1) break;
      p(0, 5000 >> 8), p(1, 5000); // 5 Mbit/s
      p(2, heads), p(3, secs), p(4, s.blocksize >> 8);
      p(6, cyls >> 8), p(7, cyls), p(8, cyls >> 8), p(9, cyls), p(10, cyls >> 8), p(11, cyls);
      p(12, 0), p(13, 1), p(14, 1), p(15, 0), p(16, 1), p(17, 1), p(18, 1); // step, pulse, settle, motor on/off
      p(26, 5400 >> 8), p(27, 5400);
      break;
    case MODE_PAGE_CACHING:
      length = 0x12;
      if (pc === 1 || s.wce) p(0, 4); // WCE
      break;
    case MODE_PAGE_R_W_ERROR:
      length = 10;
      if (pc === 1) {
        if (s.type === TYPE_ROM) p(0, 0x80);
        break;
      }
      p(0, 0x80); // AWRE
      if (s.type === TYPE_ROM) p(1, 0x20); // read retry count
      break;
    case MODE_PAGE_AUDIO_CTL:
      length = 14;
      break;
    default: // MODE_PAGE_CAPABILITIES
      length = 0x14;
      if (pc === 1) break;
      p(0, 0x3b), p(1, 0), p(2, 0x7f), p(3, 0xff);
      p(4, 0x2d | (s.trayLocked ? 2 : 0)); // lock, jumper, eject, tray loading
      p(5, 0);
      p(6, (50 * 176) >> 8), p(7, 50 * 176); // 50x
      p(8, 0), p(9, 2); // two volume levels
      p(10, 2048 >> 8), p(11, 2048); // 2 MB buffer
      p(12, (16 * 176) >> 8), p(13, 16 * 176);
      p(16, (16 * 176) >> 8), p(17, 16 * 176);
      p(18, (16 * 176) >> 8), p(19, 16 * 176);
      break;
  }
  out[at] = page;
  out[at + 1] = length;
  return length + 2;
}

export type ModeResult = { readonly len: number } | { readonly sense: SenseCode };

/** scsi_disk_emulate_mode_sense into `out` (zeroed, large enough for every page). */
export function emulateModeSense(s: ScsiDiskState, cdb: Uint8Array, out: Uint8Array): ModeResult {
  let dbd = (cdb[1] & 0x8) !== 0;
  const page = cdb[2] & 0x3f;
  const pc = (cdb[2] & 0xc0) >> 6;
  const six = cdb[0] === MODE_SENSE;
  let devParam = 0;
  if (s.type === TYPE_DISK) {
    devParam = s.conf.dpofua ? 0x10 : 0;
    if (!writable(s)) devParam |= 0x80; // WP
  } else {
    dbd = true; // MMC: no block descriptors, no device-specific parameter
  }
  let p: number;
  if (six) {
    out[2] = devParam;
    p = 4;
  } else {
    out[3] = devParam;
    p = 8;
  }
  let sectors = nbSectors(s);
  if (!dbd && sectors) {
    out[six ? 3 : 7] = 8;
    sectors = Math.floor(sectors / (s.blocksize / 512));
    if (sectors > 0xffffff) sectors = 0;
    out[p + 1] = sectors >> 16;
    out[p + 2] = (sectors >> 8) & 0xff;
    out[p + 3] = sectors & 0xff;
    out[p + 6] = (s.blocksize >> 8) & 0xff;
    p += 8;
  }
  if (pc === 3) return { sense: SENSE.SAVING_PARAMS_NOT_SUPPORTED };
  if (page === MODE_PAGE_ALLS) {
    for (let pg = 0; pg <= 0x3e; pg++) {
      const n = modeSensePage(s, pg, pc, out, p);
      if (n > 0) p += n;
    }
  } else {
    const n = modeSensePage(s, page, pc, out, p);
    if (n < 0) return { sense: SENSE.INVALID_FIELD };
    p += n;
  }
  if (six) out[0] = (p - 1) & 0xff;
  else {
    out[0] = ((p - 2) >> 8) & 0xff;
    out[1] = (p - 2) & 0xff;
  }
  return { len: p };
}

/** scsi_disk_check_mode_select: only changeable bits may differ from MODE SENSE's current values. */
function checkModeSelect(s: ScsiDiskState, page: number, data: Uint8Array): boolean {
  const expected = data.length + 2;
  if (expected > SCSI_MAX_MODE_LEN || page === MODE_PAGE_ALLS) return false;
  const current = new Uint8Array(SCSI_MAX_MODE_LEN);
  const len = modeSensePage(s, page, 0, current, 0);
  if (len < 0 || len !== expected) return false;
  const changeable = new Uint8Array(SCSI_MAX_MODE_LEN);
  modeSensePage(s, page, 1, changeable, 0);
  for (let i = 2; i < len; i++) if (((current[i] ^ data[i - 2]) & ~changeable[i]) !== 0) return false;
  return true;
}

/** mode_select_pages: check every page (`change` false) or apply them (true); a sense on error. */
function modeSelectPages(s: ScsiDiskState, buf: Uint8Array, change: boolean): SenseCode | undefined {
  let p = 0;
  let len = buf.length;
  while (len > 0) {
    const page = buf[p] & 0x3f;
    let subpage = 0;
    let pageLen: number;
    if (buf[p] & 0x40) {
      if (len < 4) return SENSE.INVALID_PARAM_LEN;
      subpage = buf[p + 1];
      pageLen = get16(buf, p + 2);
      p += 4;
      len -= 4;
    } else {
      if (len < 2) return SENSE.INVALID_PARAM_LEN;
      pageLen = buf[p + 1];
      p += 2;
      len -= 2;
    }
    if (subpage) return SENSE.INVALID_PARAM;
    if (pageLen > len) return SENSE.INVALID_PARAM_LEN;
    const data = buf.subarray(p, p + pageLen);
    if (!change) {
      if (!checkModeSelect(s, page, data)) return SENSE.INVALID_PARAM;
    } else if (page === MODE_PAGE_CACHING) {
      setWriteCache(s, (data[0] & 4) !== 0);
    }
    p += pageLen;
    len -= pageLen;
  }
  return undefined;
}

/** blk_set_enable_write_cache: the device's view, and the drive's when it can change (BlockBackend). */
export function setWriteCache(s: ScsiDiskState, on: boolean): void {
  s.wce = on;
  s.backend?.setWriteCacheEnabled(on);
}

/**
 * scsi_disk_emulate_mode_select on the parameter list `buf` (cmd.xfer bytes): undefined
 * when accepted (pages applied; the caller flushes when the write cache is now off), or
 * the sense to fail with. Nothing changes unless every page is acceptable.
 */
export function emulateModeSelect(s: ScsiDiskState, cdb: Uint8Array, buf: Uint8Array): SenseCode | undefined {
  const hdrLen = cdb[0] === MODE_SELECT ? 4 : 8;
  if ((cdb[1] & 0x11) !== 0x10) return SENSE.INVALID_FIELD; // only PF=1, SP=0
  let len = buf.length;
  if (len < hdrLen) return SENSE.INVALID_PARAM_LEN;
  const bdLen = cdb[0] === MODE_SELECT ? buf[3] : get16(buf, 6);
  len -= hdrLen;
  let p = hdrLen;
  if (len < bdLen) return SENSE.INVALID_PARAM_LEN;
  if (bdLen !== 0 && bdLen !== 8) return SENSE.INVALID_PARAM;
  if (bdLen) {
    // Only bits 8-15 of the block length, and never below 512, as QEMU.
    const bs = (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7];
    if (bs && !(bs & ~0xfe00) && bs !== s.blocksize) s.blocksize = bs;
  }
  len -= bdLen;
  p += bdLen;
  const pages = buf.subarray(p, p + len);
  const err = modeSelectPages(s, pages, false);
  if (err) return err;
  modeSelectPages(s, pages, true);
  return undefined;
}
