/**
 * Vital product data as the midlayer fetches and caches it (drivers/scsi/scsi.c
 * scsi_vpd_inquiry, scsi_get_vpd_size, scsi_get_vpd_buf, scsi_attach_vpd).
 *
 * Each page is read twice: its 4-byte header first, to learn its length (legacy devices
 * choke on large allocation lengths), then whole. Page 0 lists the pages the device has;
 * the ones the midlayer keeps (0x80 serial, 0x83 identification, 0xb0 block limits, 0xb1
 * characteristics, 0xb2 provisioning) are fetched when listed, each once. A page whose
 * header names another page is not kept (-EIO in Linux). Lengths come from the device but
 * are 16-bit (at most 65539 bytes), so every buffer here has a bound.
 */
import { INQUIRY } from '../../hw/scsi/opcodes.js';
import { VPD_BLOCK_DEVICE_CHARACTERISTICS, VPD_BLOCK_LIMITS, VPD_DEVICE_IDENTIFICATION, VPD_LOGICAL_BLOCK_PROVISIONING, VPD_SUPPORTED_PAGES, VPD_UNIT_SERIAL } from '../../hw/scsi/vpd.js';
import { SD_TIMEOUT_MS } from './cmnd.js';
import type { ScsiDevice, ScsiVpdPages } from './device.js';
import { scsiExecute } from './execute.js';

export const SCSI_VPD_HEADER_SIZE = 4;

const KEPT: Record<number, keyof ScsiVpdPages> = {
  [VPD_SUPPORTED_PAGES]: 'pg0',
  [VPD_UNIT_SERIAL]: 'pg80',
  [VPD_DEVICE_IDENTIFICATION]: 'pg83',
  [VPD_BLOCK_LIMITS]: 'pgb0',
  [VPD_BLOCK_DEVICE_CHARACTERISTICS]: 'pgb1',
  [VPD_LOGICAL_BLOCK_PROVISIONING]: 'pgb2',
};

/** INQUIRY with EVPD=1 for `page`, `len` bytes. */
export const vpdInquiryCdb = (page: number, len: number): Uint8Array => Uint8Array.of(INQUIRY, 1, page & 0xff, (len >> 8) & 0xff, len & 0xff, 0);

/**
 * scsi_vpd_inquiry: the page's full length (header + PAGE LENGTH) and the bytes that came,
 * or undefined when the command failed or the device sent another page.
 */
function vpdInquiry(sdev: ScsiDevice, page: number, len: number, done: (r: { full: number; data: Uint8Array } | undefined) => void): void {
  scsiExecute(sdev, vpdInquiryCdb(page, len), { dataIn: len, retries: 3, timeoutMs: SD_TIMEOUT_MS }, (r) => {
    if (!r.ok || r.data.length < SCSI_VPD_HEADER_SIZE || r.data[1] !== page) return done(undefined);
    done({ full: ((r.data[2] << 8) | r.data[3]) + SCSI_VPD_HEADER_SIZE, data: r.data });
  });
}

/** scsi_get_vpd_buf: the whole page, or undefined. */
export function getVpdPage(sdev: ScsiDevice, page: number, done: (b: Uint8Array | undefined) => void): void {
  vpdInquiry(sdev, page, SCSI_VPD_HEADER_SIZE, (h) => {
    if (h === undefined) return done(undefined);
    vpdInquiry(sdev, page, h.full, (p) => done(p === undefined ? undefined : p.data.slice(0, Math.min(p.data.length, p.full))));
  });
}

/** scsi_attach_vpd: fetch page 0, then every page it lists that the midlayer keeps. */
export function attachVpd(sdev: ScsiDevice, done: () => void): void {
  if (!sdev.supportsVpd) return done();
  getVpdPage(sdev, VPD_SUPPORTED_PAGES, (pg0) => {
    if (pg0 === undefined) return done();
    sdev.vpd.pg0 = pg0;
    const wanted = [...new Set(pg0.subarray(SCSI_VPD_HEADER_SIZE))].filter((p) => p !== VPD_SUPPORTED_PAGES && KEPT[p] !== undefined);
    const each = (i: number): void => {
      if (i === wanted.length) return done();
      getVpdPage(sdev, wanted[i], (b) => {
        if (b !== undefined) sdev.vpd[KEPT[wanted[i]]] = b;
        each(i + 1);
      });
    };
    each(0);
  });
}
