/**
 * `-device virtio-scsi-pci`: its property table and realize checks, with QEMU 7.2's messages
 * (hw/scsi/virtio-scsi.c virtio_scsi_common_realize, hw/virtio/virtio-scsi-pci.c,
 * hw/scsi/virtio-scsi-dataplane.c).
 *
 * The virtio-scsi device's own properties (`num_queues`, `virtqueue_size`, `max_sectors`,
 * `cmd_per_lun`, `hotplug`, `param_change`, …) come from the model's `VIRTIO_SCSI_PROPS`
 * with their names, defaults and help. Declared here: what belongs to the PCI proxy and the
 * front end — `ioeventfd`, `vectors`, `iothread`, `disable-legacy`, `modern-pio-notify`,
 * `addr`. Defaults as QEMU ≥ 5.2:
 * - `vectors`: num_queues + 3 (one per request queue, the control and event queues, and
 *   configuration changes), with `num_queues=auto` counted as one queue per vCPU.
 * - `disable-legacy`: auto, which iopath treats as on (modern virtio-pci only).
 *
 * Its SCSI bus is `<id>.0` (`scsi.<n>` without an id): what `-device scsi-hd,bus=` names.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  VIRTIO_SCSI_PROPS,
  defaultScsiVectors,
  realizeVirtioScsiProps,
  resolveScsiNumQueues,
  virtioScsiPropErrorMessage,
  type VirtioScsiPropType,
  type VirtioScsiProps,
} from '../../host/devices/virtio-scsi/index.js';
import type { VirtioScsiPciSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';
import type { OptPair } from './opts.js';
import { boolProp, disableLegacyProp, iothreadProp, pciAddrProp, uintProp } from './prop-types.js';
import { applyProps, declsFromModel, defaultsOf, formatProps, prop, propsHelp, type AnyPropDecl, type DefaultContext, type PropEnv, type PropType } from './props.js';

export const VIRTIO_SCSI_PCI = 'virtio-scsi-pci';

const PCI_MSIX_MAX_VECTORS = 2048;
const UINT32_MAX = 0xffffffff;

type Transport = Omit<VirtioScsiPciSpec, 'driver' | 'id' | 'props'>;
type Flat = Transport & VirtioScsiProps;

const uint32Prop = uintProp(32);

/** `num_queues`: a uint32, or `auto` (QEMU's default VIRTIO_SCSI_AUTO_NUM_QUEUES, UINT32_MAX, also accepted as such). */
const queues32Prop: PropType<number | 'auto'> = {
  name: 'uint32',
  parse(raw, site) {
    if (raw === 'auto') return E.right('auto');
    const r = uint32Prop.parse(raw, site);
    return E.isRight(r) && r.right === UINT32_MAX ? E.right('auto') : r;
  },
  format: (v) => String(v),
};

const CODECS: { readonly [K in VirtioScsiPropType]: PropType<unknown> } = {
  bool: boolProp as PropType<unknown>,
  uint32: uint32Prop as PropType<unknown>,
  queues32: queues32Prop as PropType<unknown>,
};

const p = prop<Flat>();
const value = <T>(v: T) => ({ kind: 'value', value: v }) as const;
const none = { kind: 'none' } as const;

const DEVICE_PROPS = declsFromModel<VirtioScsiProps, VirtioScsiPropType>(VIRTIO_SCSI_PROPS, CODECS) as unknown as AnyPropDecl<Flat>[];

/** Every property `-device virtio-scsi-pci` takes, in canonical order: the device's, then the transport's. */
export const VIRTIO_SCSI_PCI_PROPS: readonly AnyPropDecl<Flat>[] = [
  ...DEVICE_PROPS,
  p({ name: 'ioeventfd', field: 'ioeventfd', type: boolProp, default: value(true), help: 'notifies signal an eventfd inside KVM instead of exiting to QEMU' }),
  p({
    name: 'vectors',
    field: 'vectors',
    type: uintProp(32),
    default: { kind: 'computed', describe: 'num_queues + 3', compute: (ctx, s) => defaultScsiVectors(resolveScsiNumQueues(s.num_queues ?? 'auto', ctx.cpus)) },
    help: 'MSI-X vectors: one per request queue, control, event and config; 0 means INTx',
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

function toSpec(flat: Partial<Flat>, id: string | undefined): VirtioScsiPciSpec {
  const props: Record<string, unknown> = {};
  const transport: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) (Object.hasOwn(VIRTIO_SCSI_PROPS, k) ? props : transport)[k] = v;
  return { driver: VIRTIO_SCSI_PCI, ...(id !== undefined ? { id } : {}), ...transport, props } as unknown as VirtioScsiPciSpec;
}

function toFlat(s: VirtioScsiPciSpec): Flat {
  const { driver: _driver, id: _id, props, ...transport } = s;
  return { ...transport, ...props };
}

export function virtioScsiPciHelp(): string {
  return propsHelp(VIRTIO_SCSI_PCI, VIRTIO_SCSI_PCI_PROPS);
}

/** A virtio-scsi-pci with every default on a VM with `cpus` vCPUs. */
export function virtioScsiPciDefaults(cpus: number, id?: string): VirtioScsiPciSpec {
  return toSpec(defaultsOf(VIRTIO_SCSI_PCI_PROPS, { cpus }), id);
}

export function createVirtioScsiPci(
  pairs: readonly OptPair[],
  where: { loc: string; env: PropEnv; id?: string },
  ctx: DefaultContext,
): E.Either<CmdlineError, VirtioScsiPciSpec> {
  const built = applyProps(VIRTIO_SCSI_PCI_PROPS, pairs, { type: VIRTIO_SCSI_PCI, loc: where.loc, env: where.env }, ctx);
  if (E.isLeft(built)) return built;
  const spec = toSpec(built.right, where.id);
  const loc = where.loc;
  const device = realizeVirtioScsiProps(spec.props, ctx.cpus);
  if (E.isLeft(device)) return E.left({ _tag: 'DeviceRealize', loc, message: virtioScsiPropErrorMessage(device.left) });
  if (spec.vectors > PCI_MSIX_MAX_VECTORS) {
    return E.left({ _tag: 'PropertyValueOutOfRange', loc, type: VIRTIO_SCSI_PCI, prop: 'vectors', value: spec.vectors, min: 0, max: PCI_MSIX_MAX_VECTORS });
  }
  if (spec.iothread !== undefined && !spec.ioeventfd) return E.left({ _tag: 'IothreadNeedsIoeventfd', loc });
  return E.right(spec);
}

export function formatVirtioScsiPci(s: VirtioScsiPciSpec, ctx: DefaultContext): string[] {
  return formatProps(VIRTIO_SCSI_PCI_PROPS, toFlat(s), ctx);
}
