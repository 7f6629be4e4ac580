/**
 * scsi-hd's and scsi-cd's properties (`-device scsi-hd,drive=d0,serial=...`), declared once
 * with QEMU's names, defaults and help (hw/scsi/scsi-disk.c scsi_hd_properties[] /
 * scsi_cd_properties[], DEFINE_BLOCK_PROPERTIES_BASE, DEFINE_BLOCK_ERROR_PROPERTIES,
 * DEFINE_BLOCK_CHS_PROPERTIES, and the SCSI bus's channel / scsi-id / lun).
 *
 * `parseScsiDiskProps` reads command-line strings ("on", "4k", "0x5000c50015ea71ac");
 * `realizeScsiDiskProps` runs scsi_hd_realize / scsi_cd_realize / scsi_realize's checks
 * (blkconf_blocksizes, blkconf_geometry) with QEMU's messages. Both return errors as values.
 */
import * as E from 'fp-ts/lib/Either.js';
import { isOnError, type OnError } from '../block-error.js';
import { checkBlockSize as checkBlockSizeConf, checkBlockSizes, checkGeometry } from '../block-conf.js';

export type ScsiDiskKind = 'scsi-hd' | 'scsi-cd';
/** BlockdevOnError; 'auto' keeps the drive's own setting (-drive's defaults: rerror report, werror enospc). */
export type { OnError } from '../block-error.js';
export type OnOffAuto = 'on' | 'off' | 'auto';

export interface ScsiDiskProps {
  /** Unset (undefined) and "" differ: only a set serial gets VPD page 0x80. */
  serial: string | undefined;
  vendor: string;
  /** Unset: "QEMU HARDDISK" or "QEMU CD-ROM". */
  product: string | undefined;
  /** INQUIRY product revision; QEMU's default is qemu_hw_version(), "2.5+". */
  ver: string;
  /** VPD page 0x83 ASCII designator; unset: the serial (20 chars) or the drive's id. */
  device_id: string | undefined;
  wwn: bigint;
  port_wwn: bigint;
  port_index: number;
  logical_block_size: number;
  physical_block_size: number;
  min_io_size: number;
  opt_io_size: number;
  discard_granularity: number;
  'write-cache': OnOffAuto;
  rerror: OnError;
  werror: OnError;
  removable: boolean;
  dpofua: boolean;
  rotation_rate: number;
  max_unmap_size: number;
  max_io_size: number;
  scsi_version: number;
  channel: number;
  'scsi-id': number;
  lun: number;
  cyls: number;
  heads: number;
  secs: number;
}

export type PropType = 'bool' | 'string' | 'ostring' | 'uint16' | 'uint32' | 'uint64' | 'size' | 'int32' | 'blocksize' | 'address' | 'onoffauto' | 'onerror';

export interface PropDecl<T> {
  readonly type: PropType;
  readonly default: T;
  readonly help: string;
  /** Only scsi-hd has it (the rest are on both). */
  readonly hdOnly?: boolean;
}

/** DEFAULT_MAX_UNMAP_SIZE (1 GiB) and DEFAULT_MAX_IO_SIZE (INT_MAX) of hw/scsi/scsi-disk.c. */
export const DEFAULT_MAX_UNMAP_SIZE = 1024 * 1024 * 1024;
export const DEFAULT_MAX_IO_SIZE = 0x7fff_ffff;
/** DEFAULT_DISCARD_GRANULARITY: what discard_granularity=-1 becomes (at least the logical block size). */
export const DEFAULT_DISCARD_GRANULARITY = 4096;

export const SCSI_DISK_PROPS: { readonly [K in keyof ScsiDiskProps]: PropDecl<ScsiDiskProps[K]> } = {
  serial: { type: 'ostring', default: undefined, help: 'unit serial number (VPD page 0x80, up to 36 bytes shown)' },
  vendor: { type: 'string', default: 'QEMU', help: 'INQUIRY vendor identification (8 bytes, space padded)' },
  product: { type: 'ostring', default: undefined, help: 'INQUIRY product identification (16 bytes); default QEMU HARDDISK / QEMU CD-ROM' },
  ver: { type: 'string', default: '2.5+', help: 'INQUIRY product revision level (4 bytes)' },
  device_id: { type: 'ostring', default: undefined, help: 'VPD page 0x83 vendor-specific designator; default the serial or the drive id' },
  wwn: { type: 'uint64', default: 0n, help: 'NAA world wide name (VPD page 0x83), 0 = none' },
  port_wwn: { type: 'uint64', default: 0n, help: 'target port NAA name (VPD page 0x83), 0 = none' },
  port_index: { type: 'uint16', default: 0, help: 'relative target port identifier (VPD page 0x83), 0 = none' },
  logical_block_size: { type: 'blocksize', default: 0, help: 'logical block size; 0 = 512 (scsi-cd always uses 2048)' },
  physical_block_size: { type: 'blocksize', default: 0, help: 'physical block size; 0 = 512 (scsi-cd: its block size when set)' },
  min_io_size: { type: 'size', default: 0, help: 'minimum I/O size (VPD 0xb0 optimal transfer length granularity)' },
  opt_io_size: { type: 'size', default: 0, help: 'optimal I/O size (VPD 0xb0 optimal transfer length)' },
  discard_granularity: { type: 'size', default: -1, help: 'discard granularity in bytes; -1 = max(logical_block_size, 4 KiB), 0 = no thin provisioning' },
  'write-cache': { type: 'onoffauto', default: 'auto', help: 'volatile write cache (caching mode page WCE); auto = the drive\'s cache mode' },
  rerror: { type: 'onerror', default: 'auto', help: 'read error action: report, ignore, stop (auto = the drive\'s: report)' },
  werror: { type: 'onerror', default: 'auto', help: 'write error action: report, ignore, stop, enospc (auto = the drive\'s: enospc)' },
  removable: { type: 'bool', default: false, help: 'report a removable medium (INQUIRY RMB)', hdOnly: true },
  dpofua: { type: 'bool', default: false, help: 'report DPOFUA in MODE SENSE (the guest may send FUA writes)', hdOnly: true },
  rotation_rate: { type: 'uint16', default: 0, help: 'VPD 0xb1 medium rotation rate: 0 unreported, 1 non-rotating (SSD), else rpm', hdOnly: true },
  max_unmap_size: { type: 'uint64', default: DEFAULT_MAX_UNMAP_SIZE, help: 'VPD 0xb0 maximum unmap LBA count, in bytes', hdOnly: true },
  max_io_size: { type: 'uint64', default: DEFAULT_MAX_IO_SIZE, help: 'VPD 0xb0 maximum transfer length, in bytes' },
  scsi_version: { type: 'int32', default: 5, help: 'INQUIRY VERSION (5 = SPC-3)' },
  channel: { type: 'uint32', default: 0, help: 'SCSI channel (bus) on the HBA' },
  'scsi-id': { type: 'address', default: -1, help: 'SCSI target; -1 = the first free one' },
  lun: { type: 'address', default: -1, help: 'logical unit number; -1 = the first free one' },
  cyls: { type: 'uint32', default: 0, help: 'CHS cylinders for mode pages 4 and 5 (0 = guessed from the size)', hdOnly: true },
  heads: { type: 'uint32', default: 0, help: 'CHS heads (0 = guessed)', hdOnly: true },
  secs: { type: 'uint32', default: 0, help: 'CHS sectors per track (0 = guessed)', hdOnly: true },
};

export const DEFAULT_SCSI_DISK_PROPS: ScsiDiskProps = Object.fromEntries(
  Object.entries(SCSI_DISK_PROPS).map(([k, d]) => [k, d.default]),
) as unknown as ScsiDiskProps;

export type ScsiDiskPropError =
  /** "Property 'scsi-hd.rotation_rate' expects a uint16, got \"x\"" */
  | { readonly _tag: 'BadPropertyValue'; readonly name: string; readonly value: unknown; readonly expected: string }
  /** Not a property of this device (scsi-cd has no `removable`). */
  | { readonly _tag: 'UnknownProperty'; readonly name: string }
  /** A realize-time check failed; `message` is QEMU's wording. */
  | { readonly _tag: 'InvalidProperty'; readonly name: string; readonly message: string };

export function scsiDiskPropErrorMessage(kind: ScsiDiskKind, e: ScsiDiskPropError): string {
  switch (e._tag) {
    case 'BadPropertyValue':
      return `Property '${kind}.${e.name}' expects ${e.expected}, got ${JSON.stringify(typeof e.value === 'bigint' ? String(e.value) : e.value)}`;
    case 'UnknownProperty':
      return `Property '${e.name}' not found`;
    case 'InvalidProperty':
      return e.message;
  }
}

const SIZE_RE = /^(\d+)\s*([kmgt]?)i?b?$/i;
const SHIFT: Record<string, bigint> = { '': 0n, k: 10n, m: 20n, g: 30n, t: 40n };

function parseBig(v: unknown, sizes: boolean): bigint | undefined {
  if (typeof v === 'bigint') return v >= 0n ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^0x[0-9a-f]{1,16}$/i.test(s)) return BigInt(s);
  const m = (sizes ? SIZE_RE : /^(\d{1,20})()$/).exec(s);
  return m ? BigInt(m[1]) << SHIFT[m[2].toLowerCase()] : undefined;
}

function parseValue(name: string, decl: PropDecl<unknown>, v: unknown): E.Either<ScsiDiskPropError, unknown> {
  const bad = (expected: string) => E.left<ScsiDiskPropError>({ _tag: 'BadPropertyValue', name, value: v, expected });
  const uint = (max: bigint, sizes: boolean, what: string) => {
    const n = parseBig(v, sizes);
    return n === undefined || n > max ? bad(what) : E.right(Number(n));
  };
  switch (decl.type) {
    case 'bool':
      if (v === true || v === 'on' || v === 'yes' || v === 'true') return E.right(true);
      if (v === false || v === 'off' || v === 'no' || v === 'false') return E.right(false);
      return bad("'on' or 'off'");
    case 'string':
    case 'ostring':
      return typeof v === 'string' ? E.right(v) : bad('a string');
    case 'uint16':
      return uint(0xffffn, false, 'a uint16');
    case 'uint32':
      return uint(0xffff_ffffn, false, 'a uint32');
    case 'address':
      if (v === -1 || v === '-1') return E.right(-1);
      return uint(0xffff_ffffn, false, 'a uint32');
    case 'int32':
      if (typeof v === 'number' && Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff) return E.right(v);
      if (typeof v === 'string' && /^-?\d{1,10}$/.test(v.trim()) && Math.abs(Number(v)) <= 0x7fff_ffff) return E.right(Number(v));
      return bad('an int32');
    case 'uint64': {
      const n = parseBig(v, name !== 'wwn' && name !== 'port_wwn');
      if (n === undefined || n > 0xffff_ffff_ffff_ffffn) return bad('a uint64');
      return E.right(name === 'wwn' || name === 'port_wwn' ? n : Number(n));
    }
    case 'size':
      if (v === -1 || v === '-1') return E.right(-1);
      return uint(0xffff_ffffn, true, 'a size below 4G');
    case 'blocksize':
      return uint(0xffff_ffffn, true, 'a block size');
    case 'onoffauto':
      return v === 'on' || v === 'off' || v === 'auto' ? E.right(v) : bad("'on', 'off' or 'auto'");
    case 'onerror':
      return isOnError(v) ? E.right(v) : bad("'report', 'ignore', 'stop', 'enospc' or 'auto'");
  }
}

/** Parse the properties `given` names; absent ones take their defaults. `drive`, `id`, `bootindex`... are left to the caller. */
export function parseScsiDiskProps(kind: ScsiDiskKind, given: Readonly<Record<string, unknown>>): E.Either<ScsiDiskPropError, ScsiDiskProps> {
  const out: Record<string, unknown> = { ...DEFAULT_SCSI_DISK_PROPS };
  for (const [name, decl] of Object.entries(SCSI_DISK_PROPS) as [string, PropDecl<unknown>][]) {
    if (given[name] === undefined) continue;
    if (decl.hdOnly && kind === 'scsi-cd') return E.left({ _tag: 'UnknownProperty', name });
    const r = parseValue(name, decl, given[name]);
    if (E.isLeft(r)) return r;
    out[name] = r.right;
  }
  return E.right(out as unknown as ScsiDiskProps);
}

/** The properties after realize: block sizes, discard granularity and geometry resolved. */
export interface ScsiDiskConf extends ScsiDiskProps {
  readonly kind: ScsiDiskKind;
  /** The device's block size (scsi-hd: logical_block_size; scsi-cd: 2048 or physical_block_size). */
  readonly blocksize: number;
  readonly product: string;
}

const invalid = (name: string, message: string): E.Either<ScsiDiskPropError, never> => E.left({ _tag: 'InvalidProperty', name, message });

/** set_blocksize() for scsi-hd/scsi-cd's properties (block-conf.ts). */
function checkBlockSize(kind: ScsiDiskKind, name: string, n: number): E.Either<ScsiDiskPropError, number> {
  const issue = checkBlockSizeConf(kind, name, n);
  return issue ? invalid(issue.name, issue.message) : E.right(n);
}

/**
 * scsi_{hd,cd}_realize → blkconf_blocksizes, blkconf_geometry (scsi-hd: at most 65535
 * cylinders, 255 heads, 255 sectors), the discard granularity default, the product name.
 * `backendBytes` is the drive's size (geometry guess); CHS comes from the size alone
 * (iopath does not read an MBR at realize).
 */
export function realizeScsiDiskProps(kind: ScsiDiskKind, p: ScsiDiskProps, backendBytes: number): E.Either<ScsiDiskPropError, ScsiDiskConf> {
  for (const name of ['logical_block_size', 'physical_block_size'] as const) {
    const r = checkBlockSize(kind, name, p[name]);
    if (E.isLeft(r)) return r;
  }
  const lbs = p.logical_block_size || 512;
  const pbs = p.physical_block_size || 512;
  const sizes = checkBlockSizes({ logical: lbs, physical: pbs, min_io_size: p.min_io_size, opt_io_size: p.opt_io_size, discard_granularity: p.discard_granularity });
  if (sizes) return invalid(sizes.name, sizes.message);
  let { cyls, heads, secs } = p;
  if (kind === 'scsi-hd') {
    if (!cyls && !heads && !secs) {
      // guess_chs_for_size (hw/block/hd-geometry.c), for a disk without a partition table.
      cyls = Math.min(16383, Math.max(2, Math.floor(backendBytes / 512 / (16 * 63))));
      heads = 16;
      secs = 63;
    }
    const chs = checkGeometry(cyls, heads, secs);
    if (chs) return invalid(chs.name, chs.message);
  }
  const blocksize = kind === 'scsi-hd' ? lbs : p.physical_block_size || 2048;
  const discard = p.discard_granularity === -1 ? Math.max(lbs, DEFAULT_DISCARD_GRANULARITY) : p.discard_granularity;
  const product = p.product ?? (kind === 'scsi-hd' ? 'QEMU HARDDISK' : 'QEMU CD-ROM');
  return E.right({
    ...p,
    kind,
    removable: kind === 'scsi-cd' ? true : p.removable,
    logical_block_size: lbs,
    physical_block_size: pbs,
    discard_granularity: discard,
    cyls,
    heads,
    secs,
    blocksize,
    product,
  });
}
