/**
 * `-drive`: QEMU's older, all-in-one way to give a VM a disk (blockdev.c drive_new /
 * blockdev_init). One option list makes a protocol node from `file`, a format node from
 * `format` (probed from the image's first sector when absent) and a BlockBackend named
 * `id` over it:
 *
 *   -drive file=x.img,format=raw,cache=none,aio=native,discard=unmap
 *   → { driver: 'raw', cache: { direct: true }, discard: 'unmap',
 *       file: { driver: 'file', filename: 'x.img', aio: 'native' } }  + backend, writeback on
 *
 * `cache` is a mode name (cache-mode.ts) or per-switch `cache.writeback` / `cache.direct`
 * / `cache.no-flush`. A `file` with a protocol prefix ('null-co://') selects that
 * protocol. Options not listed here go to the format node, `file.*` ones to the protocol
 * node. The front-end keys `if`, `index`, `bus`, `unit`, `media` and `serial` say where
 * the VM attaches the drive; they are the VM wiring's business and are ignored here.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockdevOnError } from './block-backend-api.js';
import type { BlockBackend } from './block-backend.js';
import { CACHE_MODES, parseCacheMode, type CacheFlags } from './cache-mode.js';
import type { OpenModes } from './driver.js';
import type { BlockError } from './errors.js';
import type { BlockdevSpec, BlockGraph } from './graph.js';
import { crumple, isPlainObject, parseBool } from './options.js';
import { findBlockDriver, findProtocolDriver, probeFormat } from './registry.js';

export interface DriveOptions {
  readonly file?: string;
  readonly format?: string;
  /** Alias of `format` (QEMU accepts both). */
  readonly driver?: string;
  /** A cache mode name, or { writeback, direct, 'no-flush' }. Default writeback. */
  readonly cache?: string | Readonly<Record<string, unknown>>;
  readonly aio?: string;
  /** 'ignore' (default) or 'unmap'. */
  readonly discard?: string;
  readonly readonly?: boolean | string;
  readonly id?: string;
  readonly 'node-name'?: string;
  readonly [option: string]: unknown;
}

/** Keys -drive itself consumes; every other key goes to the top node (node-name included). */
const DRIVE_KEYS = new Set(['file', 'format', 'driver', 'cache', 'aio', 'discard', 'readonly', 'id', 'rerror', 'werror']);
const FRONT_END_KEYS = new Set(['if', 'index', 'bus', 'unit', 'media', 'serial']);
/** How much of an image probing reads (BLOCK_PROBE_BUF_SIZE). */
const PROBE_BYTES = 512;

function driveCache(v: unknown): E.Either<BlockError, CacheFlags> {
  if (v === undefined) return E.right(CACHE_MODES.writeback);
  if (typeof v === 'string') return parseCacheMode(v);
  if (!isPlainObject(v)) return E.left({ _tag: 'InvalidCacheMode', value: String(v) });
  const flag = (k: string, dflt: boolean): E.Either<BlockError, boolean> => (v[k] === undefined ? E.right(dflt) : parseBool(`cache.${k}`, v[k]));
  return E.flatMap(flag('writeback', true), (writeback) =>
    E.flatMap(flag('direct', false), (direct) => E.flatMap(flag('no-flush', false), (noFlush) => E.right({ writeback, direct, noFlush }))),
  );
}

/** The protocol node's spec from `file` (a filename), the `file.*` options and `aio`. */
function protocolSpec(file: unknown, fileOpts: unknown, aio: unknown): E.Either<BlockError, Record<string, unknown> | undefined> {
  const given = isPlainObject(fileOpts) ? fileOpts : {};
  // `aio` is a flag of the -drive (QEMU's BDRV_O_NATIVE_AIO): protocols without AIO modes ignore it.
  const withAio = (driver: string): Record<string, unknown> => (aio !== undefined && takesAio(driver) ? { ...given, aio } : given);
  if (file === undefined) return E.right(isPlainObject(fileOpts) ? withAio(String(given.driver ?? 'file')) : undefined);
  if (typeof file !== 'string') return E.left({ _tag: 'BadParameter', parameter: 'file', value: file, expected: 'a filename' });
  return E.flatMap(findProtocolDriver(file), (drv) =>
    E.flatMap(drv.parseFilename ? drv.parseFilename(file) : E.right({ filename: file }), (opts) => E.right({ driver: drv.formatName, ...opts, ...withAio(drv.formatName) })),
  );
}

function takesAio(driver: string): boolean {
  const drv = findBlockDriver(driver);
  return drv !== undefined && 'aio' in drv.options;
}

/** Open the protocol node alone, read its first sector, and let the drivers' probes name the format. */
function probe(graph: BlockGraph, protocol: Record<string, unknown>, common: Record<string, unknown>): E.Either<BlockError, { proto: string; format: string }> {
  return E.flatMap(graph.blockdevAdd({ ...protocol, ...common }), (proto) => {
    const header = new Uint8Array(Math.min(PROBE_BYTES, proto.getLength()));
    const err = proto.preadv(0, header, { ns: 0 });
    const filename = String(protocol.filename ?? proto.nodeName);
    const drv = err ? undefined : probeFormat(header, filename);
    if (drv) return E.right({ proto: proto.nodeName, format: drv.formatName });
    graph.remove(proto);
    return E.left({ _tag: 'DriverError', driver: String(protocol.driver), message: `Could not determine the image format of '${filename}'${err ? `: ${err.message}` : ''}` });
  });
}

/** -drive: build the nodes and the BlockBackend a device will use (`modes`: a tool's BDRV_O_CHECK / BDRV_O_NO_BACKING). */
export function openDrive(graph: BlockGraph, given: DriveOptions, modes: OpenModes = {}): E.Either<BlockError, BlockBackend> {
  // `file` is a filename; `file.*` are options of the node made from it.
  const { file, ...rest } = given;
  const o = crumple(rest);
  const cache = driveCache(o.cache);
  if (E.isLeft(cache)) return cache;
  const onErrors = driveOnErrors(o);
  if (E.isLeft(onErrors)) return onErrors;
  const common: Record<string, unknown> = { cache: { direct: cache.right.direct, 'no-flush': cache.right.noFlush } };
  if (o.discard !== undefined) common.discard = o.discard;
  if (o.readonly !== undefined) {
    const r = parseBool('readonly', o.readonly);
    if (E.isLeft(r)) return r;
    common['read-only'] = r.right;
  }
  const top: Record<string, unknown> = { ...common };
  for (const [k, v] of Object.entries(o)) if (!DRIVE_KEYS.has(k) && !FRONT_END_KEYS.has(k)) top[k] = v;
  const format = o.format ?? o.driver;
  if (format !== undefined && typeof format !== 'string') return E.left({ _tag: 'BadParameter', parameter: 'format', value: format, expected: 'a driver name' });
  const protocol = protocolSpec(file, o.file, o.aio);
  if (E.isLeft(protocol)) return protocol;
  const proto = protocol.right;

  let node: E.Either<BlockError, BlockdevSpec>;
  let probed: string | undefined;
  if (format !== undefined) {
    const drv = findBlockDriver(format);
    if (!drv) return E.left({ _tag: 'UnknownDriver', driver: format });
    if (drv.protocol) {
      // The drive is the protocol node itself (-drive driver=null-co,size=1G).
      if (proto && proto.driver !== format) return E.left({ _tag: 'BadParameter', parameter: 'file', value: file, expected: `a filename for driver '${format}'` });
      node = E.right({ ...proto, ...top, driver: format });
    } else {
      node = proto ? E.right({ ...top, driver: format, file: proto }) : E.left({ _tag: 'MissingParameter', parameter: 'file' });
    }
  } else {
    if (!proto) return E.left({ _tag: 'MissingParameter', parameter: 'file' });
    const p = probe(graph, proto, common);
    if (E.isLeft(p)) return p;
    probed = p.right.proto;
    node = E.right({ ...top, driver: p.right.format, file: probed });
  }
  if (E.isLeft(node)) return node;
  const bs = graph.blockdevAdd(node.right, modes);
  if (E.isLeft(bs)) {
    const orphan = probed === undefined ? undefined : graph.node(probed);
    if (orphan) graph.remove(orphan);
    return bs;
  }
  return graph.newBackend(bs.right, { id: typeof o.id === 'string' ? o.id : undefined, writeback: cache.right.writeback, ...onErrors.right });
}

/** parse_block_error_action: rerror takes ignore, stop or report; werror also enospc. */
function parseOnError(v: unknown, isRead: boolean): E.Either<BlockError, BlockdevOnError | undefined> {
  if (v === undefined) return E.right(undefined);
  const s = String(v);
  if (s === 'ignore' || s === 'stop' || s === 'report' || (!isRead && s === 'enospc')) return E.right(s);
  return E.left({ _tag: 'InvalidErrorAction', value: s, isRead });
}

function driveOnErrors(o: Record<string, unknown>): E.Either<BlockError, { rerror?: BlockdevOnError; werror?: BlockdevOnError }> {
  return E.flatMap(parseOnError(o.rerror, true), (rerror) =>
    E.flatMap(parseOnError(o.werror, false), (werror) => E.right({ ...(rerror ? { rerror } : {}), ...(werror ? { werror } : {}) })),
  );
}
