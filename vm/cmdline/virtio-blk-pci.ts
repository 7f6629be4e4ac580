/**
 * `-device virtio-blk-pci`: its property table and its realize checks, with QEMU's messages
 * (hw/block/virtio-blk.c `virtio_blk_device_realize`, hw/virtio/virtio-blk-pci.c,
 * hw/block/block.c).
 *
 * The table has two parts. The virtio-blk device's own properties (`num-queues`,
 * `queue-size`, `event_idx`, `logical_block_size`, …) are not declared here: they come, with
 * their names, defaults and help, from the device model's `VIRTIO_BLK_PROPS`
 * (host/devices/virtio-blk/props.ts), each parsed by the codec for its type. What is
 * declared here is the front end's `drive` and `share-rw`; the PCI proxy's `ioeventfd`, `vectors`,
 * `iothread`, `disable-legacy`, `modern-pio-notify`, `addr` come from virtio-pci-proxy.ts
 * (`id` and `bus` are every device's, see device-option.ts). Their defaults, QEMU ≥ 5.2 on
 * a current machine:
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
import { boolProp, driveProp, MIN_BLOCK_SIZE, MODEL_PROP_CODECS, SHARE_RW_HELP } from './prop-types.js';
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
import { flatFromSpec, specFromFlat, virtioPciProxyCheck, virtioPciProxyProps } from './virtio-pci-proxy.js';

export const VIRTIO_BLK_PCI = 'virtio-blk-pci';

/** VIRTIO_QUEUE_MAX (include/hw/virtio/virtio.h): queues per device and the largest queue. */
export const VIRTIO_QUEUE_MAX = 1024;

/** What the PCI proxy and the front end hold, beside the device's properties. */
type Transport = Omit<VirtioBlkPciSpec, 'driver' | 'id' | 'props'>;
/** What the table fills: the transport's fields, and the device's properties under their QEMU names. */
type Flat = Transport & VirtioBlkProps;

const p = prop<Flat>();
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
  p({ name: 'share-rw', field: 'shareRw', type: boolProp, default: { kind: 'value', value: false }, help: SHARE_RW_HELP }),
  ...DEVICE_PROPS,
  ...virtioPciProxyProps<Flat>({
    describe: 'num-queues + 1',
    compute: (ctx, s) => resolveNumQueues(s['num-queues'] ?? 'auto', ctx.cpus) + 1,
    help: 'MSI-X vectors: one per queue and one for config; 0 means INTx',
  }),
];

/** Split the table's flat record into the spec: the device's properties under `props`. */
const toSpec = (flat: Partial<Flat>, id: string | undefined): VirtioBlkPciSpec => specFromFlat<VirtioBlkPciSpec>(VIRTIO_BLK_PCI, VIRTIO_BLK_PROPS, flat, id);

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
  return virtioPciProxyCheck(VIRTIO_BLK_PCI, s, loc);
}

/** The properties after `virtio-blk-pci,id=…`: the drive, then whatever is not default. */
export function formatVirtioBlkPci(s: VirtioBlkPciSpec, ctx: DefaultContext): string[] {
  return formatProps(VIRTIO_BLK_PCI_PROPS, flatFromSpec<Flat>(s), ctx);
}
