/**
 * Mode pages (SPC-4 §7.5.7, SBC-3 §6.4, MMC-6 §7), one layout table each. A page starts with
 *   0  PS(7) SPF(6) PAGE CODE(5:0)   1  PAGE LENGTH (n - 1)            (page_0 format)
 *   0  PS(7) SPF=1 PAGE CODE         1  SUBPAGE CODE   2..3  PAGE LENGTH (n - 3)   (sub_page format)
 * Offsets in the tables are from the page's first byte, so they read as the standards print
 * them (QEMU's mode_sense_page writes at p = page + 2: its p[0] is byte 2 here).
 *
 * Pages without a table here, and every sub_page-format page, decode as `other` with their
 * bytes. A page cut short decodes with the missing fields zero.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get16, put16 } from './bytes.js';
import { F, readLayout, writeLayout, type Layout, type LayoutValue } from './fields.js';

export const MODE_PAGE_R_W_ERROR = 0x01;
export const MODE_PAGE_DISCONNECT = 0x02;
export const MODE_PAGE_FORMAT_DEVICE = 0x03;
export const MODE_PAGE_HD_GEOMETRY = 0x04;
export const MODE_PAGE_FLEXIBLE_DISK_GEOMETRY = 0x05;
export const MODE_PAGE_CACHING = 0x08;
export const MODE_PAGE_CONTROL = 0x0a;
export const MODE_PAGE_POWER = 0x1a;
export const MODE_PAGE_CAPABILITIES = 0x2a;
/** In a MODE SENSE CDB: every page. */
export const MODE_PAGE_ALLS = 0x3f;

export const RW_ERROR_RECOVERY_LAYOUT = {
  awre: F.bit(2, 7),
  arre: F.bit(2, 6),
  tb: F.bit(2, 5),
  rc: F.bit(2, 4),
  eer: F.bit(2, 3),
  per: F.bit(2, 2),
  dte: F.bit(2, 1),
  dcr: F.bit(2, 0),
  readRetryCount: F.u8(3),
  lbpere: F.bit(7, 7),
  writeRetryCount: F.u8(8),
  recoveryTimeLimit: F.u16(10),
} as const;

export const DISCONNECT_RECONNECT_LAYOUT = {
  bufferFullRatio: F.u8(2),
  bufferEmptyRatio: F.u8(3),
  busInactivityLimit: F.u16(4),
  disconnectTimeLimit: F.u16(6),
  connectTimeLimit: F.u16(8),
  maximumBurstSize: F.u16(10),
  emdp: F.bit(12, 7),
  fairArbitration: F.bits(12, 4, 3),
  dimm: F.bit(12, 3),
  dtdc: F.bits(12, 0, 3),
  firstBurstSize: F.u16(14),
} as const;

export const FORMAT_DEVICE_LAYOUT = {
  tracksPerZone: F.u16(2),
  alternateSectorsPerZone: F.u16(4),
  alternateTracksPerZone: F.u16(6),
  alternateTracksPerLogicalUnit: F.u16(8),
  sectorsPerTrack: F.u16(10),
  dataBytesPerPhysicalSector: F.u16(12),
  interleave: F.u16(14),
  trackSkewFactor: F.u16(16),
  cylinderSkewFactor: F.u16(18),
  ssec: F.bit(20, 7),
  hsec: F.bit(20, 6),
  rmb: F.bit(20, 5),
  surf: F.bit(20, 4),
} as const;

export const RIGID_DISK_GEOMETRY_LAYOUT = {
  numberOfCylinders: F.u24(2),
  numberOfHeads: F.u8(5),
  startingCylinderWritePrecomp: F.u24(6),
  startingCylinderReducedWriteCurrent: F.u24(9),
  driveStepRate: F.u16(12),
  landingZoneCylinder: F.u24(14),
  rpl: F.bits(17, 0, 2),
  rotationalOffset: F.u8(18),
  mediumRotationRate: F.u16(20),
} as const;

export const CACHING_LAYOUT = {
  ic: F.bit(2, 7),
  abpf: F.bit(2, 6),
  cap: F.bit(2, 5),
  disc: F.bit(2, 4),
  size: F.bit(2, 3),
  /** Write cache enable: writes may complete before they reach the medium. */
  wce: F.bit(2, 2),
  mf: F.bit(2, 1),
  /** Read cache disable. */
  rcd: F.bit(2, 0),
  demandReadRetentionPriority: F.bits(3, 4, 4),
  writeRetentionPriority: F.bits(3, 0, 4),
  disablePrefetchTransferLength: F.u16(4),
  minimumPrefetch: F.u16(6),
  maximumPrefetch: F.u16(8),
  maximumPrefetchCeiling: F.u16(10),
  fsw: F.bit(12, 7),
  lbcss: F.bit(12, 6),
  dra: F.bit(12, 5),
  nvDis: F.bit(12, 0),
  numberOfCacheSegments: F.u8(13),
  cacheSegmentSize: F.u16(14),
} as const;

export const CONTROL_LAYOUT = {
  tst: F.bits(2, 5, 3),
  tmfOnly: F.bit(2, 4),
  dpicz: F.bit(2, 3),
  /** Descriptor-format sense data. */
  dSense: F.bit(2, 2),
  gltsd: F.bit(2, 1),
  rlec: F.bit(2, 0),
  queueAlgorithmModifier: F.bits(3, 4, 4),
  nuar: F.bit(3, 3),
  qerr: F.bits(3, 1, 2),
  vs: F.bit(4, 7),
  rac: F.bit(4, 6),
  uaIntlckCtrl: F.bits(4, 4, 2),
  /** Software write protect. */
  swp: F.bit(4, 3),
  ato: F.bit(5, 7),
  tas: F.bit(5, 6),
  atmpe: F.bit(5, 5),
  rwwp: F.bit(5, 4),
  autoloadMode: F.bits(5, 0, 3),
  busyTimeoutPeriod: F.u16(8),
  extendedSelfTestCompletionTime: F.u16(10),
} as const;

export const POWER_CONDITION_LAYOUT = {
  pmBgPrecedence: F.bits(2, 6, 2),
  standbyY: F.bit(2, 0),
  idleC: F.bit(3, 3),
  idleB: F.bit(3, 2),
  idleA: F.bit(3, 1),
  standbyZ: F.bit(3, 0),
  idleAConditionTimer: F.u32(4),
  standbyZConditionTimer: F.u32(8),
  idleBConditionTimer: F.u32(12),
  idleCConditionTimer: F.u32(16),
  standbyYConditionTimer: F.u32(20),
  ccfIdle: F.bits(39, 6, 2),
  ccfStandby: F.bits(39, 4, 2),
  ccfStopped: F.bits(39, 2, 2),
} as const;

/** MMC's CD/DVD capabilities and mechanical status page, the 0x14-byte form QEMU's scsi-cd answers. */
export const CD_CAPABILITIES_LAYOUT = {
  readCapabilities: F.u8(2),
  writeCapabilities: F.u8(3),
  mediaFunctions: F.u8(4),
  cdDaCapabilities: F.u8(5),
  loadingMechanismType: F.bits(6, 5, 3),
  eject: F.bit(6, 3),
  preventJumper: F.bit(6, 2),
  lockState: F.bit(6, 1),
  lock: F.bit(6, 0),
  changerFunctions: F.u8(7),
  maximumReadSpeed: F.u16(8),
  numberOfVolumeLevels: F.u16(10),
  bufferSize: F.u16(12),
  currentReadSpeed: F.u16(14),
  digitalOutput: F.u8(17),
  maximumWriteSpeed: F.u16(18),
  currentWriteSpeed: F.u16(20),
} as const;

/** The known pages: kind, page code, PAGE LENGTH, layout. */
export const MODE_PAGES = {
  'rw-error-recovery': { code: MODE_PAGE_R_W_ERROR, length: 0x0a, layout: RW_ERROR_RECOVERY_LAYOUT },
  'disconnect-reconnect': { code: MODE_PAGE_DISCONNECT, length: 0x0e, layout: DISCONNECT_RECONNECT_LAYOUT },
  'format-device': { code: MODE_PAGE_FORMAT_DEVICE, length: 0x16, layout: FORMAT_DEVICE_LAYOUT },
  'rigid-disk-geometry': { code: MODE_PAGE_HD_GEOMETRY, length: 0x16, layout: RIGID_DISK_GEOMETRY_LAYOUT },
  caching: { code: MODE_PAGE_CACHING, length: 0x12, layout: CACHING_LAYOUT },
  control: { code: MODE_PAGE_CONTROL, length: 0x0a, layout: CONTROL_LAYOUT },
  'power-condition': { code: MODE_PAGE_POWER, length: 0x26, layout: POWER_CONDITION_LAYOUT },
  'cd-capabilities': { code: MODE_PAGE_CAPABILITIES, length: 0x14, layout: CD_CAPABILITIES_LAYOUT },
} as const;

type Known = typeof MODE_PAGES;
export type KnownModePageKind = keyof Known;

/** A known page: its kind, PS (parameters savable) and its fields. */
export type KnownModePage = { [K in KnownModePageKind]: { readonly kind: K; readonly ps: boolean } & LayoutValue<Known[K]['layout']> }[KnownModePageKind];

export type ModePage =
  | KnownModePage
  | {
      readonly kind: 'other';
      readonly ps: boolean;
      readonly spf: boolean;
      readonly pageCode: number;
      /** 0 in page_0 format. */
      readonly subpageCode: number;
      /** The bytes after the page header. */
      readonly data: Uint8Array;
    };

export type ModePageOf<K extends KnownModePageKind> = Extract<ModePage, { kind: K }>;

const BY_CODE: ReadonlyMap<number, KnownModePageKind> = new Map(Object.entries(MODE_PAGES).map(([k, v]) => [v.code, k as KnownModePageKind]));

export function modePageCode(p: ModePage): number {
  return p.kind === 'other' ? p.pageCode : MODE_PAGES[p.kind].code;
}

/** One page's bytes. A page_0 page longer than 255 bytes, or sub_page one longer than 65535, is cut. */
export function encodeModePage(p: ModePage): Uint8Array {
  if (p.kind !== 'other') {
    const spec = MODE_PAGES[p.kind];
    const out = new Uint8Array(2 + spec.length);
    writeLayout(spec.layout as Layout, p as unknown as LayoutValue<Layout>, out);
    out[0] = (p.ps ? 0x80 : 0) | spec.code;
    out[1] = spec.length;
    return out;
  }
  const hdr = p.spf ? 4 : 2;
  const n = Math.min(p.data.length, p.spf ? 0xffff : 0xff);
  const out = new Uint8Array(hdr + n);
  out[0] = (p.ps ? 0x80 : 0) | (p.spf ? 0x40 : 0) | (p.pageCode & 0x3f);
  if (p.spf) {
    out[1] = p.subpageCode & 0xff;
    put16(out, 2, n);
  } else out[1] = n;
  out.set(p.data.subarray(0, n), hdr);
  return out;
}

/** Total bytes of the page starting at b[o] by its header, or undefined when the header is not all there. */
export function modePageSize(b: Uint8Array, o: number): number | undefined {
  if (o + 2 > b.length) return undefined;
  if ((b[o] & 0x40) === 0) return 2 + b[o + 1];
  return o + 4 > b.length ? undefined : 4 + get16(b, o + 2);
}

/** Decode one whole page (header included); the caller has cut `b` to the page's size. */
export function decodeModePage(b: Uint8Array): ModePage {
  const ps = (b[0] & 0x80) !== 0;
  const spf = (b[0] & 0x40) !== 0;
  const pageCode = b[0] & 0x3f;
  const kind = spf ? undefined : BY_CODE.get(pageCode);
  if (kind === undefined) return { kind: 'other', ps, spf, pageCode, subpageCode: spf ? b[1] : 0, data: b.slice(spf ? 4 : 2) };
  // No table holds a 64-bit field, so the read cannot overflow.
  const fields = readLayout(MODE_PAGES[kind].layout as Layout, b);
  return { kind, ps, ...(E.isRight(fields) ? fields.right : {}) } as ModePage;
}
