/**
 * Test support: a small SCSI target built on the hw/scsi codecs — disks by target and
 * LUN, each a byte array — that answers what Linux's scan and sd send (INQUIRY with the
 * VPD pages, REPORT LUNS, TEST UNIT READY, READ CAPACITY(10)/(16), MODE SENSE caching
 * page, READ/WRITE(6/10/16), SYNCHRONIZE CACHE, UNMAP, WRITE SAME). It can hold a unit
 * attention per LUN, fail chosen commands with chosen sense, or never answer them.
 *
 * It is transport-free: `command` takes the request and calls `reply` (now, later or
 * never). virtio-scsi's fake device (../virtio-drivers/virtio-scsi/testing.ts) and the
 * midlayer's fake host adapter put it behind their queues.
 */
import * as E from 'fp-ts/lib/Either.js';
import { encodeReadCapacity10, encodeReadCapacity16, readCapacity10For } from '../../hw/scsi/capacity.js';
import { parseCdb, type Cdb } from '../../hw/scsi/cdb.js';
import { naaDesignator, t10VendorIdDesignator } from '../../hw/scsi/designators.js';
import { encodeStandardInquiry, qemuDiskInquiry } from '../../hw/scsi/inquiry.js';
import { encodeModeParameters, MODE_DSP_DPOFUA } from '../../hw/scsi/mode-params.js';
import { encodeReportLuns, qemuLun } from '../../hw/scsi/report-luns.js';
import { buildSense } from '../../hw/scsi/sense.js';
import { SENSE_CODE, type SenseCode } from '../../hw/scsi/sense-codes.js';
import { SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD } from '../../hw/scsi/status.js';
import { decodeUnmapParameterList } from '../../hw/scsi/unmap.js';
import { encodeVpdPage, PROVISIONING_TYPE_THIN, type VpdPage } from '../../hw/scsi/vpd.js';

export interface TargetRequest {
  readonly target: number;
  readonly lun: number;
  readonly cdb: Uint8Array;
  readonly dataOut: Uint8Array;
  readonly dataInLen: number;
}

export interface TargetReply {
  /** virtio-scsi response code (0: OK); other transports ignore it. */
  readonly response?: number;
  readonly status: number;
  readonly sense?: Uint8Array;
  readonly dataIn?: Uint8Array;
}

export interface FakeLunOptions {
  blocks?: number;
  blockSize?: number;
  /** Write cache enabled (caching page WCE) and DPOFUA in the mode header. */
  wce?: boolean;
  dpofua?: boolean;
  /** Logical block provisioning: LBPME in READ CAPACITY(16) and the 0xB2 page bits. */
  thin?: { lbpu: boolean; lbpws: boolean; lbpws10?: boolean; lbprz?: boolean };
  /** Block limits page values. */
  maxTransferLength?: number;
  maxUnmapLbaCount?: number;
  maxUnmapDescriptors?: number;
  maxWriteSameLength?: number;
  /** INQUIRY VERSION (5: SPC-3, as QEMU; 3: SCSI-2 — no REPORT LUNS). */
  version?: number;
  /** Leave out the VPD pages (page 0 then fails as INVALID FIELD). */
  noVpd?: boolean;
}

export interface FakeLun {
  readonly opts: Required<Omit<FakeLunOptions, 'thin'>> & { thin?: FakeLunOptions['thin'] };
  data: Uint8Array;
  /** A unit attention reported to the next command that is not INQUIRY or REPORT LUNS. */
  ua: SenseCode | undefined;
}

/** What a fake HBA puts behind its queues: anything that answers SCSI commands by target and LUN. */
export interface ScsiResponder {
  /** Does anything answer at this target id (else the HBA reports BAD TARGET)? */
  hasTarget(target: number): boolean;
  command(r: TargetRequest, reply: (x: TargetReply) => void): void;
}

/** A request the target was told to treat specially. */
export type Fault = { sense: SenseCode } | { hang: true } | { response: number };

export class FakeScsiTarget implements ScsiResponder {
  readonly luns = new Map<string, FakeLun>();
  /** Every CDB received, decoded (or the raw opcode when it does not parse). */
  readonly log: { target: number; lun: number; op: string; cdb: Uint8Array }[] = [];
  /** Faults injected by predicate; the first that matches wins, `times` counts down. */
  readonly faults: { match: (c: Cdb, r: TargetRequest) => boolean; fault: Fault; times: number }[] = [];
  reportLunsSupported = true;

  addLun(target: number, lun: number, o: FakeLunOptions = {}): FakeLun {
    const opts = {
      blocks: o.blocks ?? 2048,
      blockSize: o.blockSize ?? 512,
      wce: o.wce ?? true,
      dpofua: o.dpofua ?? false,
      thin: o.thin,
      maxTransferLength: o.maxTransferLength ?? 0,
      maxUnmapLbaCount: o.maxUnmapLbaCount ?? 0,
      maxUnmapDescriptors: o.maxUnmapDescriptors ?? 0,
      maxWriteSameLength: o.maxWriteSameLength ?? 0,
      version: o.version ?? 5,
      noVpd: o.noVpd ?? false,
    };
    const l: FakeLun = { opts, data: new Uint8Array(opts.blocks * opts.blockSize), ua: SENSE_CODE.RESET };
    this.luns.set(`${target}:${lun}`, l);
    return l;
  }

  /** Fail (or hang) the next `times` commands matching. */
  inject(match: (c: Cdb, r: TargetRequest) => boolean, fault: Fault, times = 1): void {
    this.faults.push({ match, fault, times });
  }

  /** Does anything answer at this target id? */
  hasTarget(target: number): boolean {
    for (const k of this.luns.keys()) if (k.startsWith(`${target}:`)) return true;
    return false;
  }

  command(r: TargetRequest, reply: (x: TargetReply) => void): void {
    const parsed = parseCdb(r.cdb);
    this.log.push({ target: r.target, lun: r.lun, op: E.isRight(parsed) ? parsed.right.op : `0x${(r.cdb[0] ?? 0).toString(16)}`, cdb: r.cdb.slice() });
    if (E.isLeft(parsed)) return reply(check(SENSE_CODE.INVALID_OPCODE));
    const c = parsed.right;
    const f = this.faults.find((x) => x.times > 0 && x.match(c, r));
    if (f) {
      f.times--;
      if ('hang' in f.fault) return;
      if ('response' in f.fault) return reply({ response: f.fault.response, status: SAM_STAT_GOOD });
      return reply(check(f.fault.sense));
    }
    reply(this.answer(c, r));
  }

  private answer(c: Cdb, r: TargetRequest): TargetReply {
    const lun = this.luns.get(`${r.target}:${r.lun}`);
    if (c.op === 'INQUIRY') {
      if (lun === undefined) return good(Uint8Array.of(0x7f, 0, 5, 2, 31, ...new Array<number>(31).fill(0x20)));
      if (!c.evpd) return good(encodeStandardInquiry({ ...qemuDiskInquiry(), version: lun.opts.version }));
      if (lun.opts.noVpd) return check(SENSE_CODE.INVALID_FIELD);
      const page = vpd(lun, c.pageCode, r);
      return page ? good(encodeVpdPage(page)) : check(SENSE_CODE.INVALID_FIELD);
    }
    if (c.op === 'REPORT_LUNS') {
      if (!this.reportLunsSupported) return check(SENSE_CODE.INVALID_OPCODE);
      const luns = [...this.luns.keys()].filter((k) => k.startsWith(`${r.target}:`)).map((k) => Number(k.split(':')[1]));
      return good(encodeReportLuns(luns.sort((a, b) => a - b).map(qemuLun)));
    }
    if (lun === undefined) return check(SENSE_CODE.LUN_NOT_SUPPORTED);
    if (lun.ua !== undefined) {
      const ua = lun.ua;
      lun.ua = undefined;
      return check(ua);
    }
    const o = lun.opts;
    const bs = o.blockSize;
    switch (c.op) {
      case 'TEST_UNIT_READY':
      case 'SYNCHRONIZE_CACHE':
        return { status: SAM_STAT_GOOD };
      case 'READ_CAPACITY_10':
        return good(encodeReadCapacity10(readCapacity10For(o.blocks, bs)));
      case 'READ_CAPACITY_16':
        return good(encodeReadCapacity16({ lastLba: o.blocks - 1, blockLength: bs, pType: 0, protEn: false, pIExponent: 0, lbPerPbExponent: 0, lbpme: o.thin !== undefined, lbprz: o.thin?.lbprz ?? false, lowestAlignedLba: 0 }));
      case 'MODE_SENSE': {
        const caching = { kind: 'caching' as const, ps: false, ic: false, abpf: false, cap: false, disc: false, size: false, wce: o.wce, mf: false, rcd: false, demandReadRetentionPriority: 0, writeRetentionPriority: 0, disablePrefetchTransferLength: 0, minimumPrefetch: 0, maximumPrefetch: 0, maximumPrefetchCeiling: 0, fsw: false, lbcss: false, dra: false, nvDis: false, numberOfCacheSegments: 0, cacheSegmentSize: 0 };
        const pages = c.pageCode === 0x08 || c.pageCode === 0x3f ? [caching] : [];
        return good(encodeModeParameters({ format: c.size, mediumType: 0, deviceSpecific: o.dpofua ? MODE_DSP_DPOFUA : 0, longLba: false, blockDescriptors: [], pages }));
      }
      case 'READ':
      case 'WRITE': {
        if (c.lba + c.transferLength > o.blocks) return check(SENSE_CODE.LBA_OUT_OF_RANGE);
        const at = c.lba * bs;
        const n = c.transferLength * bs;
        if (c.op === 'READ') return good(lun.data.slice(at, at + n));
        lun.data.set(r.dataOut.subarray(0, n), at);
        return { status: SAM_STAT_GOOD };
      }
      case 'UNMAP': {
        const d = decodeUnmapParameterList(r.dataOut, c.parameterListLength);
        if (E.isLeft(d)) return check(SENSE_CODE.INVALID_PARAM);
        for (const x of d.right) if (x.lba + x.numberOfBlocks <= o.blocks) lun.data.fill(0, x.lba * bs, (x.lba + x.numberOfBlocks) * bs);
        return { status: SAM_STAT_GOOD };
      }
      case 'WRITE_SAME': {
        if (c.lba + c.numberOfBlocks > o.blocks) return check(SENSE_CODE.LBA_OUT_OF_RANGE);
        for (let b = 0; b < c.numberOfBlocks; b++) lun.data.set(r.dataOut.subarray(0, bs), (c.lba + b) * bs);
        return { status: SAM_STAT_GOOD };
      }
      default:
        return check(SENSE_CODE.INVALID_OPCODE);
    }
  }
}

function vpd(lun: FakeLun, code: number, r: TargetRequest): VpdPage | undefined {
  const o = lun.opts;
  switch (code) {
    case 0x00:
      return { kind: 'supported-pages', pages: [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2] };
    case 0x80:
      return { kind: 'unit-serial', serial: `SN-${r.target}-${r.lun}` };
    case 0x83:
      return { kind: 'device-identification', designators: [t10VendorIdDesignator('QEMU', 'QEMU HARDDISK'), naaDesignator(0x5000c50015ea71acn + BigInt(r.lun))] };
    case 0xb0:
      return {
        kind: 'block-limits',
        wsnz: false,
        maximumCompareAndWriteLength: 0,
        optimalTransferLengthGranularity: 0,
        maximumTransferLength: o.maxTransferLength,
        optimalTransferLength: 0,
        maximumPrefetchLength: 0,
        maximumUnmapLbaCount: o.maxUnmapLbaCount,
        maximumUnmapBlockDescriptorCount: o.maxUnmapDescriptors,
        optimalUnmapGranularity: 0,
        ugavalid: false,
        unmapGranularityAlignment: 0,
        maximumWriteSameLength: o.maxWriteSameLength,
      };
    case 0xb1:
      return { kind: 'block-device-characteristics', mediumRotationRate: 1, productType: 0, wabereq: 0, wacereq: 0, nominalFormFactor: 0, zoned: 0, fuab: false, vbuls: false };
    case 0xb2:
      return {
        kind: 'logical-block-provisioning',
        thresholdExponent: 0,
        lbpu: o.thin?.lbpu ?? false,
        lbpws: o.thin?.lbpws ?? false,
        lbpws10: o.thin?.lbpws10 ?? false,
        lbprz: o.thin?.lbprz ? 1 : 0,
        ancSup: false,
        dp: false,
        minimumPercentage: 0,
        provisioningType: o.thin ? PROVISIONING_TYPE_THIN : 0,
        thresholdPercentage: 0,
      };
    default:
      return undefined;
  }
}

const good = (dataIn: Uint8Array): TargetReply => ({ status: SAM_STAT_GOOD, dataIn });
const check = (s: SenseCode): TargetReply => ({ status: SAM_STAT_CHECK_CONDITION, sense: buildSense(s, 'fixed', 18) });
