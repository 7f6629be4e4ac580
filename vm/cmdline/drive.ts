/**
 * `-drive`: the legacy all-in-one block option (blockdev.c `drive_new`). Its keys are
 * declared once below; any other key (`size=`, `latency-ns=`, `werror=`, `file.driver=`…)
 * goes to the drivers through `options`, which check it when the graph is opened.
 *
 * `if=none` makes a drive for a `-device`; `if=virtio` also makes its virtio-blk-pci.
 * QEMU's default, `if=ide`, and the other buses are not modelled yet. `driver=` names the
 * format driver when there is a `file=`, and the protocol driver (`null-co`, `memory`…)
 * when there is not, exactly as QEMU reads it.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { DriveSpec } from '../spec.js';
import { CACHE_MODES, cacheModeOf, isCacheMode, parseAio, parseDiscard, type CacheFlags } from './block-options.js';
import type { CmdlineError } from './errors.js';
import { escapeValue, formatBool, isIdentifier, parseBool, parseOpts } from './opts.js';

export interface DriveKey {
  readonly name: string;
  readonly help: string;
}

/** The keys `-drive` itself interprets. */
export const DRIVE_KEYS: readonly DriveKey[] = [
  { name: 'file', help: 'the image or device to open' },
  { name: 'if', help: 'interface: none (for -device) or virtio; ide, scsi… are not modelled' },
  { name: 'id', help: 'the name devices use in drive=' },
  { name: 'format', help: 'format driver (raw, qcow2…); unset: probed' },
  { name: 'driver', help: 'format driver with file=, else the protocol driver (null-co, memory…)' },
  { name: 'cache', help: 'writeback (default), none, writethrough, directsync, unsafe' },
  { name: 'cache.writeback', help: 'the guest sees a volatile write cache' },
  { name: 'cache.direct', help: 'O_DIRECT on the host: bypass the host page cache' },
  { name: 'cache.no-flush', help: 'ignore flush requests' },
  { name: 'aio', help: 'threads (default), native (needs cache.direct) or io_uring' },
  { name: 'discard', help: 'ignore (default) or unmap' },
  { name: 'readonly', help: 'open read-only' },
  { name: 'read-only', help: 'open read-only' },
  { name: 'media', help: 'disk (default); cdrom is not modelled' },
  { name: 'snapshot', help: 'throw writes away at exit; not modelled' },
  { name: 'index', help: 'accepted and ignored (interface slots are for if=ide and friends)' },
  { name: 'bus', help: 'accepted and ignored' },
  { name: 'unit', help: 'accepted and ignored' },
];
const KNOWN = new Set(DRIVE_KEYS.map((k) => k.name));

const NOT_MODELLED_BUSES = new Set(['ide', 'scsi', 'floppy', 'pflash', 'mtd', 'sd', 'xen']);

export interface ParsedDrive {
  readonly drive: DriveSpec;
  /** `if=virtio`: the front end must also create a virtio-blk-pci for it. */
  readonly implicitDevice: boolean;
  /** No medium: nothing to open. A device cannot use it. */
  readonly empty: boolean;
}

/** Parse `-drive` text. `autoId(if)` names a drive given without `id=`. */
export function parseDrive(text: string, loc: string, autoId: (iface: 'none' | 'virtio') => string): E.Either<CmdlineError, ParsedDrive> {
  const kv = new Map<string, string>();
  const options: Record<string, string> = {};
  for (const { key, value } of parseOpts(text)) {
    if (KNOWN.has(key)) kv.set(key === 'read-only' ? 'readonly' : key, value);
    else options[key] = value;
  }
  const iface = kv.get('if');
  if (iface === undefined) return E.left({ _tag: 'NotModelled', loc, what: "if=ide (QEMU's default for -drive; use if=none with -device, or if=virtio)" });
  if (iface !== 'none' && iface !== 'virtio') {
    return E.left(NOT_MODELLED_BUSES.has(iface) ? { _tag: 'NotModelled', loc, what: `if=${iface}` } : { _tag: 'UnsupportedBus', loc, bus: iface });
  }
  const id = kv.get('id') ?? autoId(iface);
  if (!isIdentifier(id)) return E.left({ _tag: 'BadIdentifier', loc, param: 'id', value: id });
  const media = kv.get('media');
  if (media !== undefined && media !== 'disk') return E.left({ _tag: 'NotModelled', loc, what: `media=${media}` });
  const snapshot = boolKey(kv, 'snapshot', loc);
  if (E.isLeft(snapshot)) return snapshot;
  if (snapshot.right) return E.left({ _tag: 'NotModelled', loc, what: 'snapshot=on' });

  const file = kv.get('file');
  let format = kv.get('format');
  const driver = kv.get('driver');
  if (driver !== undefined && format !== undefined) return E.left({ _tag: 'DriverAndFormat', loc });
  if (driver !== undefined && file !== undefined) format = driver;
  else if (driver !== undefined) options.driver = driver;

  const cacheName = kv.get('cache') ?? 'writeback';
  if (!isCacheMode(cacheName)) return E.left({ _tag: 'BadDriveOption', loc, option: 'cache' });
  const flags: CacheFlags = { ...CACHE_MODES[cacheName] };
  for (const [key, field] of [['cache.writeback', 'writeback'], ['cache.direct', 'direct'], ['cache.no-flush', 'noFlush']] as const) {
    const b = boolKey(kv, key, loc);
    if (E.isLeft(b)) return b;
    if (b.right !== undefined) flags[field] = b.right;
  }
  const cache = cacheModeOf(flags, loc);
  if (E.isLeft(cache)) return cache;
  const aio = parseAio(kv.get('aio'), flags.direct, loc);
  if (E.isLeft(aio)) return aio;
  const discard = parseDiscard(kv.get('discard'), loc);
  if (E.isLeft(discard)) return discard;
  const ro = boolKey(kv, 'readonly', loc);
  if (E.isLeft(ro)) return ro;

  const drive: DriveSpec = {
    id,
    source: 'drive',
    ...(file !== undefined ? { file } : {}),
    ...(format !== undefined ? { format } : {}),
    cache: cache.right,
    aio: aio.right,
    discard: discard.right,
    readOnly: ro.right ?? false,
    options,
  };
  const empty = file === undefined && options.driver === undefined && options['file.driver'] === undefined;
  return E.right({ drive, implicitDevice: iface === 'virtio', empty });
}

/** Whether a DriveSpec has nothing to open (true only for some `-drive`s). */
export function isEmptyDrive(d: DriveSpec): boolean {
  return d.source === 'drive' && d.file === undefined && d.options.driver === undefined && d.options['file.driver'] === undefined;
}

/**
 * The canonical `-drive` argument for a `source: 'drive'` spec: `if=none,id=…`, then each
 * field that is not its default, then `options`. `options.driver` is printed as `driver=`,
 * which reads back as the protocol driver because such a spec has no `file`.
 */
export function formatDrive(d: DriveSpec): string {
  const parts = ['if=none', `id=${d.id}`];
  if (d.file !== undefined) parts.push(`file=${escapeValue(d.file)}`);
  if (d.format !== undefined) parts.push(`format=${escapeValue(d.format)}`);
  if (d.cache !== 'writeback') parts.push(`cache=${d.cache}`);
  if (d.aio !== 'threads') parts.push(`aio=${d.aio}`);
  if (d.discard !== 'ignore') parts.push(`discard=${d.discard}`);
  if (d.readOnly) parts.push(`readonly=${formatBool(true)}`);
  for (const [k, v] of Object.entries(d.options)) parts.push(`${k}=${escapeValue(v)}`);
  return parts.join(',');
}

function boolKey(kv: Map<string, string>, key: string, loc: string): E.Either<CmdlineError, boolean | undefined> {
  const v = kv.get(key);
  if (v === undefined) return E.right(undefined);
  const b = parseBool(v);
  return b === undefined ? E.left({ _tag: 'ParameterExpects', loc, param: key, expects: "'on' or 'off'" }) : E.right(b);
}
