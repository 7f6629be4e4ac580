/**
 * scsi-cd's MMC commands (QEMU hw/scsi/scsi-disk.c scsi_disk_emulate_read_toc,
 * scsi_get_event_status_notification, scsi_get_configuration, scsi_emulate_mechanism_status,
 * scsi_read_disc_information, scsi_read_dvd_structure; hw/block/cdrom.c cdrom_read_toc,
 * cdrom_read_toc_raw). Each writes into a zeroed buffer and returns the data length, -1
 * for INVALID FIELD IN CDB, or a sense of its own.
 *
 * The disc is one data track from LBA 0 (control 0x14) and a lead-out at the capacity in
 * 2048-byte blocks; MSF addresses add the 150-frame (2 s) pre-gap.
 */
import { put16, put32 } from '../../../hw/scsi/bytes.js';
import { SENSE, TYPE_ROM, type SenseCode } from '../scsi-bus/defs.js';
import { available, nbSectors, type ScsiDiskState } from './state.js';

/** CD_MAX_SECTORS: above this many 512-byte sectors the medium is a DVD. */
const CD_MAX_SECTORS = (80 * 60 * 75 * 2048) / 512;
const MMC_PROFILE_NONE = 0x0000;
const MMC_PROFILE_CD_ROM = 0x0008;
const MMC_PROFILE_DVD_ROM = 0x0010;
const GESN_MEDIA = 4;

export type MmcResult = number | { readonly sense: SenseCode };

function lbaToMsf(out: Uint8Array, at: number, lba: number): void {
  const f = lba + 150;
  out[at] = Math.floor(f / 75 / 60) & 0xff;
  out[at + 1] = Math.floor(f / 75) % 60;
  out[at + 2] = f % 75;
}

/** cdrom_read_toc: format 0, the track list. */
function readToc(nb: number, out: Uint8Array, msf: boolean, startTrack: number): number {
  if (startTrack > 1 && startTrack !== 0xaa) return -1;
  let q = 2;
  out[q++] = 1; // first track
  out[q++] = 1; // last track
  const entry = (control: number, track: number, lba: number) => {
    out[q++] = 0;
    out[q++] = control;
    out[q++] = track;
    out[q++] = 0;
    if (msf) {
      out[q++] = 0;
      lbaToMsf(out, q, lba);
      q += 3;
    } else {
      put32(out, q, lba);
      q += 4;
    }
  };
  if (startTrack <= 1) entry(0x14, 1, 0);
  entry(0x16, 0xaa, nb); // lead-out
  put16(out, 0, q - 2);
  return q;
}

/** cdrom_read_toc_raw: format 2, the full TOC (points A0, A1, A2 and track 1). */
function readTocRaw(nb: number, out: Uint8Array, msf: boolean): number {
  let q = 2;
  out[q++] = 1;
  out[q++] = 1;
  const point = (pt: number, tail: number[]) => {
    out.set([1, 0x14, 0, pt, 0, 0, 0], q);
    q += 7;
    out.set(tail, q);
    q += tail.length;
  };
  point(0xa0, [0, 1, 0x00, 0x00]); // first track 1, disc type 0
  point(0xa1, [0, 1, 0x00, 0x00]); // last track 1
  const addr = (lba: number): number[] => {
    const b = new Uint8Array(4);
    if (msf) lbaToMsf(b, 1, lba);
    else put32(b, 0, lba);
    return [...b];
  };
  point(0xa2, addr(nb)); // lead-out
  point(1, addr(0)); // track 1
  put16(out, 0, q - 2);
  return q;
}

/** READ TOC/PMA/ATIP, formats 0, 1 (one session) and 2. */
export function emulateReadToc(s: ScsiDiskState, cdb: Uint8Array, out: Uint8Array): number {
  const msf = (cdb[1] & 2) !== 0;
  const format = cdb[2] & 0xf;
  const nb = Math.floor(nbSectors(s) / (s.blocksize / 512));
  switch (format) {
    case 0:
      return readToc(nb, out, msf, cdb[6]);
    case 1:
      out.set([0, 0x0a, 0x01, 0x01], 0);
      return 12;
    case 2:
      return readTocRaw(nb, out, msf);
    default:
      return -1;
  }
}

/** GET EVENT STATUS NOTIFICATION, polled only, media class. */
export function emulateGesn(s: ScsiDiskState, cdb: Uint8Array, out: Uint8Array): number {
  if (s.type !== TYPE_ROM || (cdb[1] & 1) === 0) return -1;
  let size = 4;
  out[3] = 1 << GESN_MEDIA; // supported event classes
  if (cdb[4] & (1 << GESN_MEDIA)) {
    out[2] = GESN_MEDIA;
    const mediaStatus = s.trayOpen ? 1 : s.backend !== undefined ? 2 : 0; // MS_TRAY_OPEN, MS_MEDIA_PRESENT
    let event = 0; // MEC_NO_CHANGE
    if (mediaStatus !== 1) {
      if (s.mediaEvent) {
        event = 2; // MEC_NEW_MEDIA
        s.mediaEvent = false;
      } else if (s.ejectRequest) {
        event = 1; // MEC_EJECT_REQUESTED
        s.ejectRequest = false;
      }
    }
    out.set([event, mediaStatus, 0, 0], size);
    size += 4;
  } else {
    out[2] = 0x80; // no event available
  }
  put16(out, 0, size - 4);
  return size;
}

function currentProfile(s: ScsiDiskState): number {
  if (!available(s)) return MMC_PROFILE_NONE;
  return nbSectors(s) > CD_MAX_SECTORS ? MMC_PROFILE_DVD_ROM : MMC_PROFILE_CD_ROM;
}

/** GET CONFIGURATION: profile list, core and removable medium features. */
export function emulateGetConfiguration(s: ScsiDiskState, out: Uint8Array): number {
  if (s.type !== TYPE_ROM) return -1;
  const current = currentProfile(s);
  out.fill(0, 0, 40);
  put32(out, 0, 36);
  put16(out, 6, current);
  out[10] = 0x03; // profile list: persistent, current
  out[11] = 8;
  put16(out, 12, MMC_PROFILE_DVD_ROM);
  out[14] = current === MMC_PROFILE_DVD_ROM ? 1 : 0;
  put16(out, 16, MMC_PROFILE_CD_ROM);
  out[18] = current === MMC_PROFILE_CD_ROM ? 1 : 0;
  put16(out, 20, 1); // core feature
  out[22] = 0x08 | 0x03;
  out[23] = 8;
  put32(out, 24, 1); // physical interface: SCSI
  out[28] = 1; // DBE
  put16(out, 32, 3); // removable medium feature
  out[34] = 0x08 | 0x03;
  out[35] = 4;
  out[36] = 0x39; // tray, load, eject, lock
  return 40;
}

export function emulateMechanismStatus(s: ScsiDiskState, out: Uint8Array): number {
  if (s.type !== TYPE_ROM) return -1;
  out.fill(0, 0, 8);
  out[5] = 1; // one slot
  return 8;
}

export function emulateReadDiscInformation(s: ScsiDiskState, cdb: Uint8Array, out: Uint8Array): MmcResult {
  if (s.type !== TYPE_ROM) return -1;
  if ((cdb[1] & 7) !== 0) return { sense: SENSE.INVALID_FIELD };
  out.fill(0, 0, 34);
  out.set([0, 32, 0x0e, 1, 1, 1, 1, 0x20, 0x00], 0); // complete, finalized; one session, one track
  return 34;
}

const RDS_CAPS_SIZE: readonly number[] = [2048 + 4, 4 + 4, 0, 188 + 4, 2048 + 4];

export function emulateReadDvdStructure(s: ScsiDiskState, cdb: Uint8Array, out: Uint8Array): MmcResult {
  if (s.type !== TYPE_ROM) return -1;
  const media = cdb[1];
  const layer = cdb[6];
  const format = cdb[7];
  if (media !== 0) return { sense: SENSE.INVALID_FIELD };
  let size = -1;
  if (format !== 0xff) {
    if (!available(s)) return { sense: SENSE.NO_MEDIUM };
    if (currentProfile(s) === MMC_PROFILE_CD_ROM) return { sense: SENSE.INCOMPATIBLE_FORMAT };
    if (format >= RDS_CAPS_SIZE.length) return -1;
    size = RDS_CAPS_SIZE[format];
    out.fill(0, 0, size);
  }
  switch (format) {
    case 0x00: {
      if (layer !== 0) return -1;
      const nb = nbSectors(s);
      out.set([1, 0xf, 1, 0], 4); // DVD-ROM, 120 mm, one layer
      put32(out, 12, Math.floor(nb / 4) - 1); // end sector
      put32(out, 16, Math.floor(nb / 4) - 1); // layer 0 end sector
      break;
    }
    case 0x01:
    case 0x04:
      break;
    case 0xff:
      size = 4;
      RDS_CAPS_SIZE.forEach((n, i) => {
        if (!n) return;
        out[size] = i;
        out[size + 1] = 0x40; // readable, not writable
        put16(out, size + 2, n);
        size += 4;
      });
      break;
    default:
      return -1;
  }
  put16(out, 0, size - 2);
  return size;
}
