/**
 * `-device virtio-blk-pci`: its property table and its realize checks, with QEMU's messages
 * (hw/block/virtio-blk.c `virtio_blk_device_realize`, hw/virtio/virtio-blk-pci.c,
 * hw/block/block.c).
 *
 * The table has two parts. The virtio-blk device's own properties (`num-queues`,
 * `queue-size`, `event_idx`, `logical_block_size`, …) are not declared here: they come, with
 * their names, defaults and help, from the device model's `VIRTIO_BLK_PROPS`
 * (host/devices/virtio-blk/props.ts), each parsed by the codec for its type. What is
 * declared here belongs to the PCI proxy and the front end: `drive`, `ioeventfd`,
 * `vectors`, `iothread`, `disable-legacy`, `modern-pio-notify`, `addr` (`id` and `bus` are
 * every device's, see device-option.ts). Their defaults, QEMU ≥ 5.2 on a current machine:
 * - `vectors`: num-queues + 1 (virtio-blk-pci's rule when `vectors` is unset: one MSI-X
 *   vector per queue and one for configuration changes), with `num-queues=auto` counted
 *   as one queue per vCPU, as virtio_blk_pci_realize() resolves it.
 * - `disable-legacy`: auto, which iopath treats as on: it models modern virtio-pci only.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  propErrorMessage,
  realizeVirtioBlkProps,
  resolveNumQueues,
  VIRTIO_BLK_PROPS,
  type VirtioBlkPropType,
  type VirtioBlkProps,
} from '../../host/devices/virtio-blk/index.js';
import type { VirtioBlkPciSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';
import type { OptPair } from './opts.js';
import { boolProp, disableLegacyProp, driveProp, iothreadProp, MIN_BLOCK_SIZE, MODEL_PROP_CODECS, pciAddrProp, uintProp } from './prop-types.js';
import {
  applyProps,
  declsFromModel,
  defaultsOf,
  formatProps,
  prop,
  propsHelp,
  type AnyPropDecl,
  type DefaultContext,
  type PropEnv,
} from './props.js';

export const VIRTIO_BLK_PCI = 'virtio-blk-pci';

/** VIRTIO_QUEUE_MAX (include/hw/virtio/virtio.h): queues per device and the largest queue. */
export const VIRTIO_QUEUE_MAX = 1024;
/** The most MSI-X vectors a PCI function can have (PCI_MSIX_FLAGS_QSIZE + 1). */
export const PCI_MSIX_MAX_VECTORS = 2048;

/** What the PCI proxy and the front end hold, beside the device's properties. */
type Transport = Omit<VirtioBlkPciSpec, 'driver' | 'id' | 'props'>;
/** What the table fills: the transport's fields, and the device's properties under their QEMU names. */
type Flat = Transport & VirtioBlkProps;

const p = prop<Flat>();
const value = <T>(v: T) => ({ kind: 'value', value: v }) as const;
const none = { kind: 'none' } as const;

/** The device's properties, derived from the model's table. */
const DEVICE_PROPS = declsFromModel<VirtioBlkProps, VirtioBlkPropType>(VIRTIO_BLK_PROPS, MODEL_PROP_CODECS) as unknown as AnyPropDecl<Flat>[];

/**
 * Every property `-device virtio-blk-pci` takes, in canonical order: the drive, the device's
 * (in the model's order), then the transport's. `vectors` follows `num-queues`, whose value
 * its default reads.
 */
export const VIRTIO_BLK_PCI_PROPS: readonly AnyPropDecl<Flat>[] = [
  p({ name: 'drive', field: 'drive', type: driveProp, default: none, help: 'Node name or ID of a block device to use as a backend' }),
  ...DEVICE_PROPS,
  p({ name: 'ioeventfd', field: 'ioeventfd', type: boolProp, default: value(true), help: 'notifies signal an eventfd inside KVM instead of exiting to QEMU' }),
  p({
    name: 'vectors',
    field: 'vectors',
    type: uintProp(32),
    default: { kind: 'computed', describe: 'num-queues + 1', compute: (ctx, s) => resolveNumQueues(s['num-queues'] ?? 'auto', ctx.cpus) + 1 },
    help: 'MSI-X vectors: one per queue and one for config; 0 means INTx',
  }),
  p({ name: 'iothread', field: 'iothread', type: iothreadProp, default: none, help: 'IOThread that runs the virtqueues (unset: the main loop)' }),
  p({
    name: 'disable-legacy',
    field: 'disableLegacy',
    type: disableLegacyProp,
    default: { kind: 'computed', describe: 'auto', compute: () => true },
    help: 'no legacy (virtio 0.9) interface; iopath models modern virtio-pci only',
  }),
  p({ name: 'modern-pio-notify', field: 'modernPioNotify', type: boolProp, default: value(false), help: 'notify by an I/O port write instead of MMIO' }),
  p({ name: 'addr', field: 'addr', type: pciAddrProp, default: none, help: 'Slot and optional function number, example: 06.0 or 06' }),
];

/** Split the table's flat record into the spec: the device's properties under `props`. */
function toSpec(flat: Partial<Flat>, id: string | undefined): VirtioBlkPciSpec {
  const props: Record<string, unknown> = {};
  const transport: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) (Object.hasOwn(VIRTIO_BLK_PROPS, k) ? props : transport)[k] = v;
  return { driver: VIRTIO_BLK_PCI, ...(id !== undefined ? { id } : {}), ...transport, props } as unknown as VirtioBlkPciSpec;
}

function toFlat(s: VirtioBlkPciSpec): Flat {
  const { driver: _driver, id: _id, props, ...transport } = s;
  return { ...transport, ...props };
}

/** The property list `-device virtio-blk-pci,help` prints. */
export function virtioBlkPciHelp(): string {
  return propsHelp(VIRTIO_BLK_PCI, VIRTIO_BLK_PCI_PROPS);
}

/** A virtio-blk-pci with every default, on a VM with `cpus` vCPUs, using `drive`. */
export function virtioBlkPciDefaults(cpus: number, drive: string): VirtioBlkPciSpec {
  return toSpec({ ...defaultsOf(VIRTIO_BLK_PCI_PROPS, { cpus }), drive }, undefined);
}

/** Set the properties (in the order given), fill defaults, then run the realize checks. */
export function createVirtioBlkPci(
  pairs: readonly OptPair[],
  where: { loc: string; env: PropEnv; id?: string },
  ctx: DefaultContext,
): E.Either<CmdlineError, VirtioBlkPciSpec> {
  const built = applyProps(VIRTIO_BLK_PCI_PROPS, pairs, { type: VIRTIO_BLK_PCI, loc: where.loc, env: where.env }, ctx);
  if (E.isLeft(built)) return built;
  const loc = where.loc;
  if (built.right.drive === undefined) return E.left({ _tag: 'DriveNotSet', loc });
  const spec = toSpec(built.right, where.id);
  const err = realizeCheck(spec, loc, where.env, ctx);
  return err ? E.left(err) : E.right(spec);
}

/**
 * QEMU's realize checks, in its order: the front end's own (with their tagged errors), then
 * whatever else the device model's realize refuses (min_io_size, geometry, discard limits…),
 * in the model's words.
 */
function realizeCheck(s: VirtioBlkPciSpec, loc: string, env: PropEnv, ctx: DefaultContext): CmdlineError | undefined {
  const p = s.props;
  if (env.drive(s.drive)?.empty) return { _tag: 'DriveEmpty', loc };
  const numQueues = resolveNumQueues(p['num-queues'], ctx.cpus);
  if (numQueues === 0) return { _tag: 'NumQueuesZero', loc };
  if (numQueues > VIRTIO_QUEUE_MAX) return { _tag: 'NumQueuesTooMany', loc, value: numQueues, max: VIRTIO_QUEUE_MAX };
  const qs = p['queue-size'];
  if (qs <= 2) return { _tag: 'QueueSizeTooSmall', loc, value: qs };
  if ((qs & (qs - 1)) !== 0 || qs > VIRTIO_QUEUE_MAX) return { _tag: 'QueueSizeNotPowerOf2', loc, value: qs, max: VIRTIO_QUEUE_MAX };
  // blkconf_blocksizes(): an unset size is the backend's, 512 for an image file.
  if ((p.logical_block_size || MIN_BLOCK_SIZE) > (p.physical_block_size || MIN_BLOCK_SIZE)) return { _tag: 'BlockSizeMismatch', loc };
  // The backend's size only shapes the guessed geometry, which no check reads.
  const device = realizeVirtioBlkProps(p, 0, ctx.cpus);
  if (E.isLeft(device)) return { _tag: 'DeviceRealize', loc, message: propErrorMessage(device.left) };
  if (s.vectors > PCI_MSIX_MAX_VECTORS) {
    return { _tag: 'PropertyValueOutOfRange', loc, type: VIRTIO_BLK_PCI, prop: 'vectors', value: s.vectors, min: 0, max: PCI_MSIX_MAX_VECTORS };
  }
  if (s.iothread !== undefined && !s.ioeventfd) return { _tag: 'IothreadNeedsIoeventfd', loc };
  return undefined;
}

/** The properties after `virtio-blk-pci,id=…`: the drive, then whatever is not default. */
export function formatVirtioBlkPci(s: VirtioBlkPciSpec, ctx: DefaultContext): string[] {
  return formatProps(VIRTIO_BLK_PCI_PROPS, toFlat(s), ctx);
}
