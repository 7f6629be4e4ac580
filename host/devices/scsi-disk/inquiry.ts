/**
 * INQUIRY data of scsi-hd / scsi-cd (QEMU hw/scsi/scsi-disk.c scsi_disk_emulate_inquiry,
 * scsi_disk_emulate_vpd_page; hw/scsi/emulation.c scsi_emulate_block_limits).
 *
 * Standard data (SPC-4 §6.6.2), as QEMU fills it:
 *   0     peripheral device type (qualifier 0)       1  RMB (0x80) when removable
 *   2     VERSION = scsi_version (5: SPC-3)           3  0x12: HiSup, response data format 2
 *   4     additional length: allocation length - 5, or 31 when the allocation length is ≤ 36
 *   7     0x10 (Sync) | 0x02 (CmdQue) when the HBA does tagged queueing
 *   8-15  vendor, 16-31 product (space padded), 32-35 revision (NUL padded)
 * QEMU returns as many bytes as the allocation length asks (up to 256), zeros after 36.
 *
 * VPD pages: 0x00 (supported pages), 0x80 (serial, only when one is set), 0x83 (device
 * identification), and for disks 0xb0 (block limits), 0xb1 (block device
 * characteristics), 0xb2 (logical block provisioning). Any other page: INVALID FIELD.
 */
import { put16, put32, put64, putAsciiField } from '../../../hw/scsi/bytes.js';
import { TYPE_DISK, TYPE_ROM } from '../scsi-bus/defs.js';
import type { ScsiDiskState } from './state.js';

/** SCSI_MAX_INQUIRY_LEN. */
export const SCSI_MAX_INQUIRY_LEN = 256;

function putLatin1(out: Uint8Array, at: number, s: string, max: number): number {
  const n = Math.min(s.length, max);
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i) & 0xff;
  return n;
}

/** scsi_disk_emulate_vpd_page: the page's length, or -1 for a page not supported. */
function vpdPage(s: ScsiDiskState, page: number, out: Uint8Array): number {
  out[0] = s.type & 0x1f;
  out[1] = page;
  out[2] = 0;
  out[3] = 0;
  let n = 4;
  const c = s.conf;
  switch (page) {
    case 0x00:
      out[n++] = 0x00;
      if (c.serial !== undefined) out[n++] = 0x80;
      out[n++] = 0x83;
      if (s.type === TYPE_DISK) {
        out[n++] = 0xb0;
        out[n++] = 0xb1;
        out[n++] = 0xb2;
      }
      break;
    case 0x80:
      if (c.serial === undefined) return -1;
      n += putLatin1(out, n, c.serial, 36);
      break;
    case 0x83: {
      const id = s.deviceId ?? '';
      const idLen = Math.min(id.length, 255 - 8);
      if (idLen > 0) {
        out.set([0x2, 0, 0, idLen], n); // ASCII, vendor specific (not officially assigned)
        n += 4;
        n += putLatin1(out, n, id, idLen);
      }
      if (c.wwn !== 0n) {
        out.set([0x1, 0x3, 0, 8], n); // binary, NAA
        put64(out, n + 4, c.wwn);
        n += 12;
      }
      if (c.port_wwn !== 0n) {
        out.set([0x61, 0x93, 0, 8], n); // SAS / binary; PIV, target port, NAA
        put64(out, n + 4, c.port_wwn);
        n += 12;
      }
      if (c.port_index !== 0) {
        out.set([0x61, 0x94, 0, 4], n); // SAS / binary; PIV, target port, relative target port
        put16(out, n + 6, c.port_index);
        n += 8;
      }
      break;
    }
    case 0xb0: {
      if (s.type === TYPE_ROM) return -1;
      const bs = s.blocksize;
      let maxIo = Math.floor(c.max_io_size / bs);
      // MIN_NON_ZERO with what the drive can take in one request.
      const maxIoBlk = Math.floor(s.maxTransfer / bs);
      if (maxIoBlk !== 0 && (maxIo === 0 || maxIoBlk < maxIo)) maxIo = maxIoBlk;
      n += blockLimits(out, n, {
        minIo: Math.floor(c.min_io_size / bs),
        optIo: Math.floor(c.opt_io_size / bs),
        maxIo,
        maxUnmap: Math.floor(c.max_unmap_size / bs),
        unmapGranularity: Math.floor(c.discard_granularity / bs),
      });
      break;
    }
    case 0xb1:
      out.fill(0, 4, 0x40);
      put16(out, 4, c.rotation_rate); // MEDIUM ROTATION RATE; PRODUCT TYPE, form factor, VBULS 0
      n = 0x40;
      break;
    case 0xb2:
      out[4] = 0;
      out[5] = 0xe0; // LBPU, LBPWS, LBPWS10: UNMAP and WRITE SAME(10/16) with UNMAP
      out[6] = c.discard_granularity ? 2 : 1; // thin provisioned, else full
      out[7] = 0;
      n = 8;
      break;
    default:
      return -1;
  }
  out[3] = n - 4;
  return n;
}

/** scsi_emulate_block_limits: the 0x3c bytes after the page header. */
function blockLimits(out: Uint8Array, at: number, bl: { minIo: number; optIo: number; maxIo: number; maxUnmap: number; unmapGranularity: number }): number {
  out.fill(0, at, at + 0x3c);
  out[at] = 1; // WSNZ: a WRITE SAME of 0 blocks is refused
  if (bl.maxIo) {
    put16(out, at + 2, Math.min(bl.minIo, bl.maxIo)); // optimal transfer length granularity
    put32(out, at + 4, bl.maxIo); // maximum transfer length
    put32(out, at + 8, Math.min(bl.optIo, bl.maxIo)); // optimal transfer length
  } else {
    put16(out, at + 2, bl.minIo);
    put32(out, at + 8, bl.optIo);
  }
  put32(out, at + 16, bl.maxUnmap); // maximum unmap LBA count
  put32(out, at + 20, 255); // maximum unmap block descriptor count: 255 fit in 4 KiB
  put32(out, at + 24, bl.unmapGranularity); // optimal unmap granularity (alignment 0)
  put32(out, at + 36, bl.maxIo); // maximum write same length = maximum transfer length
  return 0x3c;
}

/**
 * scsi_disk_emulate_inquiry into `out` (zeroed, at least 256 bytes): the length of the
 * data, or -1 for an INVALID FIELD IN CDB (a page code without EVPD, an unknown VPD page).
 */
export function emulateInquiry(s: ScsiDiskState, cdb: Uint8Array, xfer: number, tcq: boolean, out: Uint8Array): number {
  if (cdb[1] & 0x1) return vpdPage(s, cdb[2], out);
  if (cdb[2] !== 0) return -1;
  const len = Math.min(xfer, SCSI_MAX_INQUIRY_LEN);
  out[0] = s.type & 0x1f;
  out[1] = s.conf.removable ? 0x80 : 0;
  putAsciiField(out, 16, 16, s.conf.product);
  putAsciiField(out, 8, 8, s.conf.vendor);
  out.fill(0, 32, 36);
  putLatin1(out, 32, s.conf.ver, 4);
  out[2] = s.conf.scsi_version & 0xff;
  out[3] = 2 | 0x10;
  out[4] = len > 36 ? len - 5 : 36 - 5;
  out[7] = 0x10 | (tcq ? 0x02 : 0);
  return len;
}
