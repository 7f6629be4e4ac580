/**
 * virtio-scsi's properties (`-device virtio-scsi-pci,num_queues=4,...`), declared once with
 * their QEMU 7.2 names, defaults and help (hw/scsi/virtio-scsi.c `virtio_scsi_properties[]`
 * and the common virtio feature bits `event_idx` / `indirect_desc` / `notify_on_empty` /
 * `any_layout`).
 *
 * The QEMU command-line front end (vm/cmdline/virtio-scsi-pci.ts) derives its
 * `-device virtio-scsi-pci` properties from this table and declares only the PCI proxy's
 * own (`ioeventfd`, `vectors`) and the `iothread` link.
 *
 * `parseVirtioScsiProps` reads command-line strings; `realizeVirtioScsiProps` runs the checks
 * of virtio_scsi_common_realize() with QEMU's messages. Both return errors as values.
 */
import * as E from 'fp-ts/lib/Either.js';

/** VIRTIO_QUEUE_MAX: queues per device in QEMU. */
export const QEMU_VIRTIO_QUEUE_MAX = 1024;
/** VIRTQUEUE_MAX_SIZE: the largest queue QEMU accepts. */
export const QEMU_VIRTQUEUE_MAX_SIZE = 1024;
/** VIRTIO_SCSI_VQ_NUM_FIXED: the control and event queues. */
export const VIRTIO_SCSI_VQ_NUM_FIXED = 2;
/** PCI_MSIX_FLAGS_QSIZE + 1: the most MSI-X vectors a function has. */
const PCI_MSIX_MAX_VECTORS = 2048;

export interface VirtioScsiProps {
  /** Request queues; 'auto' is QEMU's VIRTIO_SCSI_AUTO_NUM_QUEUES (UINT32_MAX). */
  num_queues: number | 'auto';
  virtqueue_size: number;
  seg_max_adjust: boolean;
  max_sectors: number;
  cmd_per_lun: number;
  hotplug: boolean;
  param_change: boolean;
  event_idx: boolean;
  indirect_desc: boolean;
  notify_on_empty: boolean;
  any_layout: boolean;
}

/** After realize: the request-queue count resolved. */
export type VirtioScsiConf = Omit<VirtioScsiProps, 'num_queues'> & { num_queues: number };

/**
 * Each property's qdev type: `bool`, `uint32`, and `queues32` for num_queues (a uint32 or
 * 'auto'). A front end picks its value codec by this tag.
 */
export type VirtioScsiPropType = 'bool' | 'uint32' | 'queues32';

export interface VirtioScsiPropDecl<T> {
  readonly type: VirtioScsiPropType;
  readonly default: T;
  readonly help: string;
}

/** Every property: type, default (QEMU 7.2) and help. */
export const VIRTIO_SCSI_PROPS: { readonly [K in keyof VirtioScsiProps]: VirtioScsiPropDecl<VirtioScsiProps[K]> } = {
  num_queues: { type: 'queues32', default: 'auto', help: "request queues; 'auto' = one per vCPU for virtio-scsi-pci (at most 1022), 1 otherwise" },
  virtqueue_size: { type: 'uint32', default: 256, help: 'size of every virtqueue (a power of 2, 3..1024); 128 before QEMU 5.0' },
  seg_max_adjust: { type: 'bool', default: true, help: 'seg_max = virtqueue_size - 2 (off: 126, as before QEMU 5.0)' },
  max_sectors: { type: 'uint32', default: 0xffff, help: 'largest transfer the driver should send, in 512-byte sectors (config max_sectors)' },
  cmd_per_lun: { type: 'uint32', default: 128, help: 'commands the driver may queue per LUN (config cmd_per_lun)' },
  hotplug: { type: 'bool', default: true, help: 'offer VIRTIO_SCSI_F_HOTPLUG: TRANSPORT_RESET events on hot-plug and hot-unplug' },
  param_change: { type: 'bool', default: true, help: 'offer VIRTIO_SCSI_F_CHANGE: PARAM_CHANGE events (e.g. capacity changed)' },
  event_idx: { type: 'bool', default: true, help: 'offer VIRTIO_F_EVENT_IDX (used_event / avail_event suppression)' },
  indirect_desc: { type: 'bool', default: true, help: 'offer VIRTIO_F_INDIRECT_DESC' },
  notify_on_empty: { type: 'bool', default: true, help: 'offer VIRTIO_F_NOTIFY_ON_EMPTY (legacy)' },
  any_layout: { type: 'bool', default: true, help: 'offer VIRTIO_F_ANY_LAYOUT (legacy; without it the first buffers are the headers)' },
};

export const DEFAULT_VIRTIO_SCSI_PROPS: VirtioScsiProps = Object.fromEntries(
  Object.entries(VIRTIO_SCSI_PROPS).map(([k, d]) => [k, d.default]),
) as unknown as VirtioScsiProps;

export type VirtioScsiPropError =
  /** "Property 'virtio-scsi.virtqueue_size' expects a uint32, got \"x\"" */
  | { readonly _tag: 'BadPropertyValue'; readonly name: string; readonly value: unknown; readonly expected: string }
  /** A realize-time check failed; `message` is QEMU's wording (or iopath's, where QEMU aborts). */
  | { readonly _tag: 'InvalidProperty'; readonly name: string; readonly message: string };

export function virtioScsiPropErrorMessage(e: VirtioScsiPropError): string {
  switch (e._tag) {
    case 'BadPropertyValue':
      return `Property 'virtio-scsi.${e.name}' expects ${e.expected}, got ${JSON.stringify(e.value)}`;
    case 'InvalidProperty':
      return e.message;
  }
}

const UINT32_MAX = 0xffffffff;

function parseUint32(v: unknown): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (/^0x[0-9a-f]{1,8}$/i.test(s)) n = Number.parseInt(s.slice(2), 16);
    else if (/^\d{1,10}$/.test(s)) n = Number(s);
  }
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= UINT32_MAX ? n : undefined;
}

/** One value by its declared type. UINT32_MAX for num_queues is QEMU's spelling of 'auto'. */
export function parseVirtioScsiValue(name: string, type: VirtioScsiPropType, v: unknown): E.Either<VirtioScsiPropError, unknown> {
  const bad = (expected: string) => E.left<VirtioScsiPropError>({ _tag: 'BadPropertyValue', name, value: v, expected });
  switch (type) {
    case 'bool':
      if (v === true || v === 'on' || v === 'yes' || v === 'true') return E.right(true);
      if (v === false || v === 'off' || v === 'no' || v === 'false') return E.right(false);
      return bad("'on' or 'off'");
    case 'uint32': {
      const n = parseUint32(v);
      return n === undefined ? bad('a uint32') : E.right(n);
    }
    case 'queues32': {
      if (v === 'auto') return E.right('auto');
      const n = parseUint32(v);
      if (n === undefined) return bad("'auto' or a uint32");
      return E.right(n === UINT32_MAX ? 'auto' : n);
    }
  }
}

/** Parse the properties `given` names (strings or typed values); absent ones take their defaults. Other keys are left for the caller. */
export function parseVirtioScsiProps(given: Readonly<Record<string, unknown>>): E.Either<VirtioScsiPropError, VirtioScsiProps> {
  const out: Record<string, unknown> = { ...DEFAULT_VIRTIO_SCSI_PROPS };
  for (const [name, decl] of Object.entries(VIRTIO_SCSI_PROPS) as [string, VirtioScsiPropDecl<unknown>][]) {
    if (given[name] === undefined) continue;
    const r = parseVirtioScsiValue(name, decl.type, given[name]);
    if (E.isLeft(r)) return r;
    out[name] = r.right;
  }
  return E.right(out as unknown as VirtioScsiProps);
}

/**
 * What num_queues=auto comes to on virtio-scsi-pci: virtio_pci_optimal_num_queues(2), one
 * queue per vCPU, bounded by the MSI-X vectors left after the config vector and the two
 * fixed queues, and by VIRTIO_QUEUE_MAX - 2. A bare virtio-scsi-device takes 1.
 */
export function resolveScsiNumQueues(n: number | 'auto', cpus: number): number {
  if (n !== 'auto') return n;
  const c = Number.isSafeInteger(cpus) && cpus > 0 ? cpus : 1;
  return Math.min(c, PCI_MSIX_MAX_VECTORS - 1 - VIRTIO_SCSI_VQ_NUM_FIXED, QEMU_VIRTIO_QUEUE_MAX - VIRTIO_SCSI_VQ_NUM_FIXED);
}

/** virtio-scsi-pci's default `vectors`: num_queues + VIRTIO_SCSI_VQ_NUM_FIXED + 1 (the config vector). */
export function defaultScsiVectors(numQueues: number): number {
  return numQueues + VIRTIO_SCSI_VQ_NUM_FIXED + 1;
}

const invalid = (name: string, message: string): E.Either<VirtioScsiPropError, never> => E.left({ _tag: 'InvalidProperty', name, message });

/**
 * virtio_scsi_common_realize()'s checks, in QEMU's order and words. QEMU aborts in
 * virtio_add_queue() on a queue above 1024 and would run a split ring of a size that is not
 * a power of 2; iopath refuses both here, with a message saying so.
 */
export function realizeVirtioScsiProps(p: VirtioScsiProps, cpus = 1): E.Either<VirtioScsiPropError, VirtioScsiConf> {
  const numQueues = resolveScsiNumQueues(p.num_queues, cpus);
  const maxQueues = QEMU_VIRTIO_QUEUE_MAX - VIRTIO_SCSI_VQ_NUM_FIXED;
  if (numQueues === 0 || numQueues > maxQueues) {
    return invalid('num_queues', `Invalid number of queues (= ${numQueues}), must be a positive integer less than ${maxQueues}.`);
  }
  const qs = p.virtqueue_size;
  if (qs <= 2) return invalid('virtqueue_size', `invalid virtqueue_size property (= ${qs}), must be > 2`);
  if (qs > QEMU_VIRTQUEUE_MAX_SIZE) {
    return invalid('virtqueue_size', `invalid virtqueue_size property (= ${qs}), must be at most ${QEMU_VIRTQUEUE_MAX_SIZE} (QEMU aborts in virtio_add_queue)`);
  }
  if ((qs & (qs - 1)) !== 0) return invalid('virtqueue_size', `invalid virtqueue_size property (= ${qs}), must be a power of 2 (a split virtqueue)`);
  return E.right({ ...p, num_queues: numQueues });
}
