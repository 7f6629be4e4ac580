/**
 * `-device virtio-blk-pci`: its properties, declared once (name, type, default, help),
 * and its realize checks, with QEMU's messages (hw/block/virtio-blk.c
 * `virtio_blk_device_realize`, hw/virtio/virtio-blk-pci.c, hw/block/block.c).
 *
 * Defaults are those of QEMU ≥ 5.2 on a current machine type:
 * - `num-queues`: one per vCPU (QEMU's "auto", `virtio_pci_optimal_num_queues`, default
 *   since 5.2; older machine types pin 1 through hw_compat).
 * - `queue-size` 256 (since 5.0; 128 before), `seg-max-adjust` on (since 5.0).
 * - `vectors`: num-queues + 1 (virtio-blk-pci's rule when `vectors` is unset: one MSI-X
 *   vector per queue and one for configuration changes).
 * - `disable-legacy`: auto, which iopath treats as on: it models modern virtio-pci only.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { VirtioBlkPciSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';
import type { OptPair } from './opts.js';
import {
  blockSizeProp,
  boolProp,
  disableLegacyProp,
  driveProp,
  iothreadProp,
  pciAddrProp,
  strProp,
  uintProp,
} from './prop-types.js';
import { applyProps, defaultsOf, formatProps, prop, propsHelp, type AnyPropDecl, type DefaultContext, type PropEnv } from './props.js';

export const VIRTIO_BLK_PCI = 'virtio-blk-pci';

/** VIRTIO_QUEUE_MAX (include/hw/virtio/virtio.h): queues per device and the largest queue. */
export const VIRTIO_QUEUE_MAX = 1024;
/** The most MSI-X vectors a PCI function can have (PCI_MSIX_FLAGS_QSIZE + 1). */
export const PCI_MSIX_MAX_VECTORS = 2048;

type Spec = Omit<VirtioBlkPciSpec, 'driver' | 'id'>;
const p = prop<Spec>();
const value = <T>(v: T) => ({ kind: 'value', value: v }) as const;
const none = { kind: 'none' } as const;

export const VIRTIO_BLK_PCI_PROPS: readonly AnyPropDecl<Spec>[] = [
  p({ name: 'drive', field: 'drive', type: driveProp, default: none, help: 'Node name or ID of a block device to use as a backend' }),
  p({
    name: 'num-queues',
    field: 'numQueues',
    type: uintProp(16),
    default: { kind: 'computed', describe: 'one per vCPU', compute: (ctx) => Math.min(ctx.cpus, VIRTIO_QUEUE_MAX) },
    help: 'number of request virtqueues (VIRTIO_BLK_F_MQ when > 1)',
  }),
  p({ name: 'queue-size', field: 'queueSize', type: uintProp(16), default: value(256), help: 'descriptors per virtqueue: a power of 2, 4..1024' }),
  p({ name: 'event_idx', field: 'eventIdx', type: boolProp, default: value(true), help: 'VIRTIO_RING_F_EVENT_IDX: suppress notifications by ring index' }),
  p({ name: 'indirect_desc', field: 'indirectDesc', type: boolProp, default: value(true), help: 'VIRTIO_RING_F_INDIRECT_DESC: one ring slot per request' }),
  p({ name: 'ioeventfd', field: 'ioeventfd', type: boolProp, default: value(true), help: 'notifies signal an eventfd inside KVM instead of exiting to QEMU' }),
  p({
    name: 'vectors',
    field: 'vectors',
    type: uintProp(32),
    default: { kind: 'computed', describe: 'num-queues + 1', compute: (_ctx, s) => (s.numQueues ?? 1) + 1 },
    help: 'MSI-X vectors: one per queue and one for config; 0 means INTx',
  }),
  p({ name: 'iothread', field: 'iothread', type: iothreadProp, default: none, help: 'IOThread that runs the virtqueues (unset: the main loop)' }),
  p({ name: 'serial', field: 'serial', type: strProp, default: none, help: 'disk serial number, returned by VIRTIO_BLK_T_GET_ID (20 bytes)' }),
  p({ name: 'logical_block_size', field: 'logicalBlockSize', type: blockSizeProp, default: value(512), help: 'logical block size (blk_size)' }),
  p({ name: 'physical_block_size', field: 'physicalBlockSize', type: blockSizeProp, default: value(512), help: 'physical block size (topology)' }),
  p({ name: 'discard', field: 'discard', type: boolProp, default: value(true), help: 'VIRTIO_BLK_F_DISCARD' }),
  p({ name: 'write-zeroes', field: 'writeZeroes', type: boolProp, default: value(true), help: 'VIRTIO_BLK_F_WRITE_ZEROES' }),
  p({ name: 'config-wce', field: 'configWce', type: boolProp, default: value(true), help: 'VIRTIO_BLK_F_CONFIG_WCE: the guest may toggle the write cache' }),
  p({ name: 'request-merging', field: 'requestMerging', type: boolProp, default: value(true), help: 'merge adjacent requests popped in one batch (up to 32)' }),
  p({ name: 'seg-max-adjust', field: 'segMaxAdjust', type: boolProp, default: value(true), help: 'seg_max = queue-size - 2 (off: 126)' }),
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

/** The property list `-device virtio-blk-pci,help` prints. */
export function virtioBlkPciHelp(): string {
  return propsHelp(VIRTIO_BLK_PCI, VIRTIO_BLK_PCI_PROPS);
}

/** A virtio-blk-pci with every default, on a VM with `cpus` vCPUs, using `drive`. */
export function virtioBlkPciDefaults(cpus: number, drive: string): VirtioBlkPciSpec {
  const d = defaultsOf(VIRTIO_BLK_PCI_PROPS, { cpus }) as Spec;
  return { driver: VIRTIO_BLK_PCI, ...d, drive };
}

/** Set the properties (in the order given), fill defaults, then run the realize checks. */
export function createVirtioBlkPci(
  pairs: readonly OptPair[],
  where: { loc: string; env: PropEnv; id?: string },
  ctx: DefaultContext,
): E.Either<CmdlineError, VirtioBlkPciSpec> {
  const built = applyProps(VIRTIO_BLK_PCI_PROPS, pairs, { type: VIRTIO_BLK_PCI, loc: where.loc, env: where.env }, ctx);
  if (E.isLeft(built)) return built;
  const s = built.right;
  const loc = where.loc;
  if (s.drive === undefined) return E.left({ _tag: 'DriveNotSet', loc });
  const spec = { driver: VIRTIO_BLK_PCI, ...(where.id !== undefined ? { id: where.id } : {}), ...s } as VirtioBlkPciSpec;
  const err = realizeCheck(spec, loc, where.env);
  return err ? E.left(err) : E.right(spec);
}

function realizeCheck(s: VirtioBlkPciSpec, loc: string, env: PropEnv): CmdlineError | undefined {
  if (env.drive(s.drive)?.empty) return { _tag: 'DriveEmpty', loc };
  if (s.numQueues === 0) return { _tag: 'NumQueuesZero', loc };
  if (s.numQueues > VIRTIO_QUEUE_MAX) return { _tag: 'NumQueuesTooMany', loc, value: s.numQueues, max: VIRTIO_QUEUE_MAX };
  if (s.queueSize <= 2) return { _tag: 'QueueSizeTooSmall', loc, value: s.queueSize };
  if ((s.queueSize & (s.queueSize - 1)) !== 0 || s.queueSize > VIRTIO_QUEUE_MAX) {
    return { _tag: 'QueueSizeNotPowerOf2', loc, value: s.queueSize, max: VIRTIO_QUEUE_MAX };
  }
  if (s.logicalBlockSize > s.physicalBlockSize) return { _tag: 'BlockSizeMismatch', loc };
  if (s.vectors > PCI_MSIX_MAX_VECTORS) {
    return { _tag: 'PropertyValueOutOfRange', loc, type: VIRTIO_BLK_PCI, prop: 'vectors', value: s.vectors, min: 0, max: PCI_MSIX_MAX_VECTORS };
  }
  if (s.iothread !== undefined && !s.ioeventfd) return { _tag: 'IothreadNeedsIoeventfd', loc };
  return undefined;
}

/** The properties after `virtio-blk-pci,id=…`: the drive, then whatever is not default. */
export function formatVirtioBlkPci(s: VirtioBlkPciSpec, ctx: DefaultContext): string[] {
  const { driver: _driver, id: _id, ...rest } = s;
  return formatProps(VIRTIO_BLK_PCI_PROPS, rest, ctx);
}
