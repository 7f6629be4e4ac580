/**
 * sd_revalidate_disk (drivers/scsi/sd.c): what sd asks a disk before it registers it, and
 * again when the device says its parameters or capacity changed.
 *
 *   sd_spinup_disk         TEST UNIT READY, up to 3 times while it answers a unit attention
 *                          (QEMU's power-on "reset occurred" is consumed here)
 *   sd_read_capacity       READ CAPACITY(16) first on an SPC-3 device (else (10), then (16)
 *                          when the last LBA does not fit 32 bits); (16) gives the physical
 *                          block exponent and LBPME/LBPRZ (thin provisioning)
 *   VPD pages              0xB2 provisioning (only with LBPME), 0xB0 block limits, 0xB1
 *                          characteristics — from the pages the scan cached
 *   sd_read_write_protect_flag   MODE SENSE(6) all pages, 4 bytes: WP
 *   sd_read_cache_type     MODE SENSE(6) caching page: 4 bytes first, then the length the
 *                          header reports (at most 512): WCE, RCD; DPOFUA from the header;
 *                          no answer means "write through"
 *
 * Device answers are parsed defensively: a short buffer, a page walk that runs off the
 * end, an unsupported sector size all fall back as sd does, never throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeReadCapacity10, decodeReadCapacity16 } from '../../hw/scsi/capacity.js';
import { MODE_SENSE_6, READ_CAPACITY_10, SAI_READ_CAPACITY_16, SERVICE_ACTION_IN_16, TEST_UNIT_READY } from '../../hw/scsi/opcodes.js';
import { UNIT_ATTENTION } from '../../hw/scsi/sense-codes.js';
import { SD_MAX_RETRIES, SD_TIMEOUT_MS } from './cmnd.js';
import { SCSI_SPC_2 } from './device.js';
import { executeRetryingUa, scsiExecute, type ExecResult } from './execute.js';
import { configWriteSame, sdDiscardMode, type ScsiDisk } from './sd-disk.js';

/** SD_BUF_SIZE: sd's scratch buffer, the most MODE SENSE data it reads. */
export const SD_BUF_SIZE = 512;
const RC16_LEN = 32;
const opts = (dataIn: number) => ({ dataIn, retries: SD_MAX_RETRIES, timeoutMs: SD_TIMEOUT_MS });
const be16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const be32 = (b: Uint8Array, o: number): number => be16(b, o) * 0x10000 + be16(b, o + 2);

/** sd_spinup_disk (the part a disk that is always spinning takes). */
function spinup(d: ScsiDisk, done: () => void): void {
  const tur = (tries: number): void =>
    scsiExecute(d.sdev, Uint8Array.of(TEST_UNIT_READY, 0, 0, 0, 0, 0), opts(0), (r) => {
      if (!r.ok && r.sense?.key === UNIT_ATTENTION && tries > 1) return tur(tries - 1);
      d.mediaPresent = !(r.sense?.asc === 0x3a); // MEDIUM NOT PRESENT
      done();
    });
  tur(3);
}

function readCapacity16(d: ScsiDisk, done: (sectorSize: number | undefined) => void): void {
  const cdb = new Uint8Array(16);
  cdb[0] = SERVICE_ACTION_IN_16;
  cdb[1] = SAI_READ_CAPACITY_16;
  cdb[13] = RC16_LEN;
  executeRetryingUa(d.sdev, cdb, opts(RC16_LEN), 10, (r) => {
    const c = r.ok ? decodeReadCapacity16(r.data) : undefined;
    if (c === undefined || E.isLeft(c)) return done(undefined);
    const v = c.right;
    d.physicalBlockSize = 2 ** Math.min(v.lbPerPbExponent, 15) * v.blockLength;
    d.lbpme = v.lbpme;
    d.lbprz = v.lbpme && v.lbprz;
    d.capacity = v.lastLba + 1;
    done(v.blockLength);
  });
}

function readCapacity10(d: ScsiDisk, done: (sectorSize: number | undefined) => void): void {
  const cdb = new Uint8Array(10);
  cdb[0] = READ_CAPACITY_10;
  executeRetryingUa(d.sdev, cdb, opts(8), 3, (r) => {
    const c = r.ok ? decodeReadCapacity10(r.data) : undefined;
    if (c === undefined || E.isLeft(c)) return done(undefined);
    d.capacity = c.right.lastLba + 1;
    d.physicalBlockSize = c.right.blockLength;
    done(c.right.blockLength);
  });
}

/** sd_read_capacity. */
function readCapacity(d: ScsiDisk, done: () => void): void {
  const gotData = (sectorSize: number | undefined): void => {
    if (sectorSize === undefined) {
      d.capacity = 0;
      return done();
    }
    let ss = sectorSize === 0 ? 512 : sectorSize;
    if (![512, 1024, 2048, 4096].includes(ss)) {
      d.sdev.host.note(`[${d.name}] Unsupported sector size ${ss}.`);
      d.capacity = 0;
      ss = 512;
    }
    d.sectorSize = ss;
    if (!(d.physicalBlockSize >= ss)) d.physicalBlockSize = ss;
    if (d.capacity > 0xffffffff) d.sdev.use16ForRw = true;
    d.sdev.host.note(`[${d.name}] ${d.capacity} ${ss}-byte logical blocks`);
    done();
  };
  const rc16First = d.sdev.host.maxCmdLen >= 16 && d.sdev.scsiLevel > SCSI_SPC_2;
  if (rc16First) return readCapacity16(d, (ss) => (ss !== undefined ? gotData(ss) : readCapacity10(d, gotData)));
  readCapacity10(d, (ss) => {
    if (ss === undefined || d.capacity <= 0xffffffff) return gotData(ss);
    readCapacity16(d, (ss16) => {
      if (ss16 !== undefined) return gotData(ss16);
      d.capacity = 0x1_0000_0000; // "Using 0xffffffff as device size"
      gotData(ss);
    });
  });
}

/** The VPD pages sd reads (sd_read_block_provisioning, _limits, _characteristics). */
function readVpdLimits(d: ScsiDisk): void {
  const v = d.sdev.vpd;
  d.lbpvpd = false;
  if (d.lbpme && v.pgb2 !== undefined && v.pgb2.length >= 8) {
    d.lbpvpd = true;
    d.lbpu = (v.pgb2[5] & 0x80) !== 0;
    d.lbpws = (v.pgb2[5] & 0x40) !== 0;
    d.lbpws10 = (v.pgb2[5] & 0x20) !== 0;
  }
  const b0 = v.pgb0;
  if (b0 !== undefined && b0.length >= 16) {
    d.minXferBlocks = be16(b0, 6);
    d.maxXferBlocks = be32(b0, 8);
    d.optXferBlocks = be32(b0, 12);
    if (b0.length >= 64) {
      d.maxWsBlocks = be32(b0, 40); // the low 32 bits of MAXIMUM WRITE SAME LENGTH
      if (d.lbpme) {
        const lbaCount = be32(b0, 20);
        const descCount = be32(b0, 24);
        if (lbaCount && descCount) d.maxUnmapBlocks = lbaCount;
        d.unmapGranularity = be32(b0, 28);
        if (b0[32] & 0x80) d.unmapAlignment = be32(b0, 32) & 0x7fffffff;
      }
    }
  }
  const b1 = v.pgb1;
  if (b1 !== undefined && b1.length >= 8) d.nonRotational = be16(b1, 4) === 1;
  d.provisioningMode = sdDiscardMode(d);
}

/** scsi_mode_sense(6) with the header parsed: undefined when it failed or is too short. */
function modeSense6(d: ScsiDisk, page: number, len: number, done: (r: { data: Uint8Array; length: number; deviceSpecific: number; bdLength: number } | undefined) => void): void {
  scsiExecute(d.sdev, Uint8Array.of(MODE_SENSE_6, 0, page & 0x3f, 0, len & 0xff, 0), opts(len), (r: ExecResult) => {
    if (!r.ok || r.data.length < 4) return done(undefined);
    done({ data: r.data, length: r.data[0] + 1, deviceSpecific: r.data[2], bdLength: r.data[3] });
  });
}

/** sd_read_write_protect_flag (the first attempt). */
function readWriteProtect(d: ScsiDisk, done: () => void): void {
  modeSense6(d, 0x3f, 4, (m) => {
    d.writeProt = m !== undefined && (m.deviceSpecific & 0x80) !== 0;
    done();
  });
}

/** sd_read_cache_type. */
function readCacheType(d: ScsiDisk, done: () => void): void {
  const defaults = (): void => {
    d.wce = false;
    d.rcd = false;
    d.dpofua = false;
    done();
  };
  modeSense6(d, 0x08, 4, (first) => {
    if (first === undefined || first.length < 3) return defaults();
    const len = Math.min(first.length, SD_BUF_SIZE, 255);
    const parse = (m: typeof first): void => {
      const b = m.data;
      const end = Math.min(len, b.length);
      for (let off = 4 + m.bdLength; off < end; ) {
        const code = b[off] & 0x3f;
        const spf = (b[off] & 0x40) !== 0;
        if (code === 0x08) {
          if (end - off <= 2) return defaults();
          d.wce = (b[off + 2] & 0x04) !== 0;
          d.rcd = (b[off + 2] & 0x01) !== 0;
          d.dpofua = (m.deviceSpecific & 0x10) !== 0 && (d.sdev.use10ForRw || d.sdev.use16ForRw);
          if (d.wce && d.writeProt) d.wce = false;
          d.sdev.host.note(`[${d.name}] Write cache: ${d.wce ? 'enabled' : 'disabled'}, read cache: ${d.rcd ? 'disabled' : 'enabled'}, ${d.dpofua ? 'supports DPO and FUA' : "doesn't support DPO or FUA"}`);
          return done();
        }
        if (spf && end - off > 3) off += 4 + be16(b, off + 2);
        else if (!spf && end - off > 1) off += 2 + b[off + 1];
        else return defaults();
      }
      defaults(); // "No Caching mode page found"
    };
    if (len > 4) modeSense6(d, 0x08, len, (m) => (m === undefined ? defaults() : parse(m)));
    else parse(first);
  });
}

/** sd_revalidate_disk: every step in order, then `done`. */
export function sdRevalidate(d: ScsiDisk, done: () => void): void {
  spinup(d, () => {
    if (!d.mediaPresent) return done();
    readCapacity(d, () => {
      if (d.sdev.supportsVpd) readVpdLimits(d);
      else d.provisioningMode = sdDiscardMode(d);
      readWriteProtect(d, () =>
        readCacheType(d, () => {
          configWriteSame(d);
          done();
        }),
      );
    });
  });
}
