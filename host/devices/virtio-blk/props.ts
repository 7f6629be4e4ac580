/**
 * virtio-blk's properties (`-device virtio-blk-pci,num-queues=4,...`), declared once with
 * their QEMU names, defaults and help (gem5's params; QEMU's `virtio_blk_properties[]`,
 * `DEFINE_BLOCK_PROPERTIES`, `DEFINE_BLOCK_CHS_PROPERTIES` and the common virtio feature
 * bits `event_idx` / `indirect_desc` / `notify_on_empty` / `any_layout`).
 *
 * This table is the one declaration: the QEMU command-line front end
 * (vm/cmdline/virtio-blk-pci.ts) derives its `-device virtio-blk-pci` properties, their
 * defaults, help and value codecs from it, and declares only the PCI proxy's own.
 *
 * `parseVirtioBlkProps` reads the values a command line gives (strings such as "on", "4k",
 * "0x100"); `realizeVirtioBlkProps` runs the checks of QEMU's virtio_blk_device_realize()
 * and blkconf_* with QEMU's messages. Both return errors as values (tier 2).
 */
import * as E from 'fp-ts/lib/Either.js';
import { isOnError, type OnError } from '../block-error.js';
import { checkBlockSize as checkBlockSizeConf, checkBlockSizes, checkGeometry, MIN_BLOCK_SIZE } from '../block-conf.js';

/** BDRV_REQUEST_MAX_SECTORS = MIN(SIZE_MAX, INT_MAX) >> BDRV_SECTOR_BITS. */
export const BDRV_REQUEST_MAX_SECTORS = 4194303;
/** QEMU's VIRTQUEUE_MAX_SIZE (include/hw/virtio/virtio.h); the spec allows 32768. */
export const QEMU_VIRTQUEUE_MAX_SIZE = 1024;
/** VIRTIO_QUEUE_MAX: queues per device in QEMU. */
export const QEMU_VIRTIO_QUEUE_MAX = 1024;

export interface VirtioBlkProps {
  'num-queues': number | 'auto';
  'queue-size': number;
  'seg-max-adjust': boolean;
  event_idx: boolean;
  indirect_desc: boolean;
  notify_on_empty: boolean;
  any_layout: boolean;
  serial: string;
  'config-wce': boolean;
  'x-enable-wce-if-config-wce': boolean;
  'request-merging': boolean;
  discard: boolean;
  'write-zeroes': boolean;
  'report-discard-granularity': boolean;
  'max-discard-sectors': number;
  'max-write-zeroes-sectors': number;
  logical_block_size: number;
  physical_block_size: number;
  min_io_size: number;
  opt_io_size: number;
  /** -1: not set (the config reports logical_block_size). */
  discard_granularity: number;
  cyls: number;
  heads: number;
  secs: number;
  rerror: OnError;
  werror: OnError;
}

/** The properties after realize: queue count and block sizes resolved, geometry filled in. */
export type VirtioBlkConf = Omit<VirtioBlkProps, 'num-queues'> & { 'num-queues': number };

/**
 * Each property's type: QEMU's qdev property type, plus `queues` for num-queues (a uint16 or
 * 'auto'). A front end picks its value codec by this tag (vm/cmdline/prop-types.ts).
 */
export type PropType = 'bool' | 'uint16' | 'uint32' | 'size32' | 'blocksize' | 'string' | 'queues' | 'onerror';

export interface PropDecl<T> {
  readonly type: PropType;
  readonly default: T;
  readonly help: string;
}

/** Every property: type, default (QEMU 9.x) and help. */
export const VIRTIO_BLK_PROPS: { readonly [K in keyof VirtioBlkProps]: PropDecl<VirtioBlkProps[K]> } = {
  'num-queues': { type: 'queues', default: 'auto', help: "request queues; 'auto' = one per vCPU for virtio-blk-pci (1 otherwise), MQ offered when > 1" },
  'queue-size': { type: 'uint16', default: 256, help: 'virtqueue size (power of 2, 3..1024); 128 before QEMU 5.0' },
  'seg-max-adjust': { type: 'bool', default: true, help: 'seg_max = queue-size - 2 (off: 126, as before QEMU 5.0)' },
  event_idx: { type: 'bool', default: true, help: 'offer VIRTIO_F_EVENT_IDX (used_event / avail_event suppression)' },
  indirect_desc: { type: 'bool', default: true, help: 'offer VIRTIO_F_INDIRECT_DESC' },
  notify_on_empty: { type: 'bool', default: true, help: 'offer VIRTIO_F_NOTIFY_ON_EMPTY (legacy)' },
  any_layout: { type: 'bool', default: true, help: 'offer VIRTIO_F_ANY_LAYOUT (legacy)' },
  serial: { type: 'string', default: '', help: 'disk serial number returned by VIRTIO_BLK_T_GET_ID (up to 20 bytes)' },
  'config-wce': { type: 'bool', default: true, help: 'offer VIRTIO_BLK_F_CONFIG_WCE: the driver may toggle the write cache' },
  'x-enable-wce-if-config-wce': { type: 'bool', default: true, help: 'offer VIRTIO_BLK_F_FLUSH whenever CONFIG_WCE is offered' },
  'request-merging': { type: 'bool', default: true, help: 'merge contiguous reads/writes popped together (up to 32 requests)' },
  discard: { type: 'bool', default: true, help: 'offer VIRTIO_BLK_F_DISCARD' },
  'write-zeroes': { type: 'bool', default: true, help: 'offer VIRTIO_BLK_F_WRITE_ZEROES' },
  'report-discard-granularity': { type: 'bool', default: true, help: 'report discard_granularity as discard_sector_alignment (since QEMU 6.0)' },
  'max-discard-sectors': { type: 'uint32', default: BDRV_REQUEST_MAX_SECTORS, help: 'largest discard, in sectors (1..4194303)' },
  'max-write-zeroes-sectors': { type: 'uint32', default: BDRV_REQUEST_MAX_SECTORS, help: 'largest write-zeroes, in sectors (1..4194303)' },
  logical_block_size: { type: 'blocksize', default: 0, help: 'logical block size (blk_size); 0 = from the backend (512)' },
  physical_block_size: { type: 'blocksize', default: 0, help: 'physical block size (physical_block_exp); 0 = from the backend' },
  min_io_size: { type: 'size32', default: 0, help: 'minimum I/O size, a multiple of logical_block_size' },
  opt_io_size: { type: 'size32', default: 0, help: 'optimal I/O size, a multiple of logical_block_size' },
  discard_granularity: { type: 'size32', default: -1, help: 'discard granularity in bytes (-1 = logical_block_size)' },
  cyls: { type: 'uint32', default: 0, help: 'CHS cylinders (0 = guessed from the size)' },
  heads: { type: 'uint32', default: 0, help: 'CHS heads (0 = guessed)' },
  secs: { type: 'uint32', default: 0, help: 'CHS sectors per track (0 = guessed)' },
  rerror: { type: 'onerror', default: 'auto', help: "read error action: report, ignore, stop (auto = the drive's: report)" },
  werror: { type: 'onerror', default: 'auto', help: "write error action: report, ignore, stop, enospc (auto = the drive's: enospc)" },
};

export const DEFAULT_VIRTIO_BLK_PROPS: VirtioBlkProps = Object.fromEntries(
  Object.entries(VIRTIO_BLK_PROPS).map(([k, d]) => [k, d.default]),
) as unknown as VirtioBlkProps;

export type VirtioBlkPropError =
  /** "Property 'virtio-blk.queue-size' expects a uint16, got \"x\"" */
  | { readonly _tag: 'BadPropertyValue'; readonly name: string; readonly value: unknown; readonly expected: string }
  /** A realize-time check failed; `message` is QEMU's wording. */
  | { readonly _tag: 'InvalidProperty'; readonly name: string; readonly message: string };

export function propErrorMessage(e: VirtioBlkPropError): string {
  switch (e._tag) {
    case 'BadPropertyValue':
      return `Property 'virtio-blk.${e.name}' expects ${e.expected}, got ${JSON.stringify(e.value)}`;
    case 'InvalidProperty':
      return e.message;
  }
}

const SIZE_RE = /^(\d+)\s*([kmg]?)i?b?$/i;
const SHIFT: Record<string, number> = { '': 0, k: 10, m: 20, g: 30 };

function parseUint(v: unknown, max: number, sizes: boolean): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (/^0x[0-9a-f]+$/i.test(s)) n = Number.parseInt(s.slice(2), 16);
    else {
      const m = (sizes ? SIZE_RE : /^(\d+)()$/).exec(s);
      if (m) n = Number(m[1]) * 2 ** SHIFT[m[2].toLowerCase()];
    }
  }
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= max ? n : undefined;
}

function parseValue(name: string, decl: PropDecl<unknown>, v: unknown): E.Either<VirtioBlkPropError, unknown> {
  const bad = (expected: string) => E.left<VirtioBlkPropError>({ _tag: 'BadPropertyValue', name, value: v, expected });
  const uint = (max: number, sizes: boolean, what: string) => {
    const n = parseUint(v, max, sizes);
    return n === undefined ? bad(what) : E.right(n);
  };
  switch (decl.type) {
    case 'bool':
      if (v === true || v === 'on' || v === 'yes' || v === 'true') return E.right(true);
      if (v === false || v === 'off' || v === 'no' || v === 'false') return E.right(false);
      return bad("'on' or 'off'");
    case 'string':
      return typeof v === 'string' ? E.right(v) : bad('a string');
    case 'uint16':
      return uint(0xffff, false, 'a uint16');
    case 'uint32':
      return uint(0xffffffff, false, 'a uint32');
    case 'queues':
      return v === 'auto' ? E.right('auto') : uint(0xffff, false, "'auto' or a uint16");
    case 'size32':
      if (v === -1 || v === '-1') return E.right(-1);
      return uint(0xffffffff, true, 'a size below 4G');
    case 'onerror':
      return isOnError(v) ? E.right(v) : bad("'report', 'ignore', 'stop', 'enospc' or 'auto'");
    case 'blocksize': {
      const n = parseUint(v, 0xffffffff, true);
      return n === undefined ? bad('a block size') : checkBlockSize(name, n);
    }
  }
}

/** set_blocksize() for virtio-blk's properties (block-conf.ts). */
function checkBlockSize(name: string, n: number): E.Either<VirtioBlkPropError, number> {
  const issue = checkBlockSizeConf('virtio-blk', name, n);
  return issue ? invalid(issue.name, issue.message) : E.right(n);
}

const invalid = (name: string, message: string): E.Either<VirtioBlkPropError, never> => E.left({ _tag: 'InvalidProperty', name, message });

/**
 * Parse the properties `given` names (command-line strings or typed values); absent ones
 * take their defaults. Keys this device does not declare (`drive`, `id`, `iothread`,
 * `vectors`, ...) are left for the caller.
 */
export function parseVirtioBlkProps(given: Readonly<Record<string, unknown>>): E.Either<VirtioBlkPropError, VirtioBlkProps> {
  const out: Record<string, unknown> = { ...DEFAULT_VIRTIO_BLK_PROPS };
  for (const [name, decl] of Object.entries(VIRTIO_BLK_PROPS) as [string, PropDecl<unknown>][]) {
    if (given[name] === undefined) continue;
    const r = parseValue(name, decl, given[name]);
    if (E.isLeft(r)) return r;
    out[name] = r.right;
  }
  return E.right(out as unknown as VirtioBlkProps);
}

/** guess_chs_for_size() (hw/block/hd-geometry.c) for a disk without a partition table. */
function guessGeometry(totalSectors: number): { cyls: number; heads: number; secs: number } {
  const cyls = Math.min(16383, Math.max(2, Math.floor(totalSectors / (16 * 63))));
  return { cyls, heads: 16, secs: 63 };
}

/**
 * What `num-queues` comes to: 'auto' is `autoNumQueues` (virtio-blk-pci: the vCPU count,
 * virtio_pci_optimal_num_queues()), between 1 and VIRTIO_QUEUE_MAX.
 */
export function resolveNumQueues(n: number | 'auto', autoNumQueues: number): number {
  return n === 'auto' ? Math.max(1, Math.min(QEMU_VIRTIO_QUEUE_MAX, autoNumQueues)) : n;
}

/**
 * virtio_blk_device_realize()'s checks and blkconf_blocksizes()/blkconf_geometry(), in
 * QEMU's order and words. `autoNumQueues` is what 'auto' means here (virtio-blk-pci: the
 * vCPU count, capped at 1024; a bare virtio-blk-device: 1).
 */
export function realizeVirtioBlkProps(p: VirtioBlkProps, backendBytes: number, autoNumQueues = 1): E.Either<VirtioBlkPropError, VirtioBlkConf> {
  const numQueues = resolveNumQueues(p['num-queues'], autoNumQueues);
  if (numQueues === 0) return invalid('num-queues', 'num-queues property must be larger than 0');
  if (numQueues > QEMU_VIRTIO_QUEUE_MAX) return invalid('num-queues', `num-queues property must be at most ${QEMU_VIRTIO_QUEUE_MAX}`);
  const qs = p['queue-size'];
  if (qs <= 2) return invalid('queue-size', `invalid queue-size property (${qs}), must be > 2`);
  if ((qs & (qs - 1)) !== 0 || qs > QEMU_VIRTQUEUE_MAX_SIZE) {
    return invalid('queue-size', `invalid queue-size property (${qs}), must be a power of 2 (max ${QEMU_VIRTQUEUE_MAX_SIZE})`);
  }
  for (const name of ['logical_block_size', 'physical_block_size'] as const) {
    const r = checkBlockSize(name, p[name]);
    if (E.isLeft(r)) return r;
  }
  // blkconf_blocksizes: what the command line leaves at 0 comes from the backend's probe,
  // which for image files (and iopath's memory and null-co nodes) fails → 512 bytes. So
  // logical_block_size=4096 alone is refused, as QEMU refuses it.
  const lbs = p.logical_block_size || MIN_BLOCK_SIZE;
  const pbs = p.physical_block_size || MIN_BLOCK_SIZE;
  const sizes = checkBlockSizes({ logical: lbs, physical: pbs, min_io_size: p.min_io_size, opt_io_size: p.opt_io_size, discard_granularity: p.discard_granularity });
  if (sizes) return invalid(sizes.name, sizes.message);
  let { cyls, heads, secs } = p;
  if (!cyls && !heads && !secs) ({ cyls, heads, secs } = guessGeometry(Math.floor(backendBytes / 512)));
  else {
    const chs = checkGeometry(cyls, heads, secs);
    if (chs) return invalid(chs.name, chs.message);
  }
  for (const [on, name] of [[p.discard, 'max-discard-sectors'], [p['write-zeroes'], 'max-write-zeroes-sectors']] as const) {
    const v = p[name];
    if (on && (v === 0 || v > BDRV_REQUEST_MAX_SECTORS)) {
      return invalid(name, `invalid ${name} property (${v}), must be between 1 and ${BDRV_REQUEST_MAX_SECTORS}`);
    }
  }
  return E.right({ ...p, 'num-queues': numQueues, logical_block_size: lbs, physical_block_size: pbs, cyls, heads, secs });
}
