/**
 * `-device virtio-scsi-pci`: its property table and realize checks, with QEMU 7.2's messages
 * (hw/scsi/virtio-scsi.c virtio_scsi_common_realize, hw/virtio/virtio-scsi-pci.c,
 * hw/scsi/virtio-scsi-dataplane.c).
 *
 * The virtio-scsi device's own properties (`num_queues`, `virtqueue_size`, `max_sectors`,
 * `cmd_per_lun`, `hotplug`, `param_change`, …) come from the model's `VIRTIO_SCSI_PROPS`
 * with their names, defaults and help; the PCI proxy's and front end's — `ioeventfd`,
 * `vectors`, `iothread`, `disable-legacy`, `modern-pio-notify`, `addr` — from
 * virtio-pci-proxy.ts. Defaults as QEMU ≥ 5.2:
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
import { boolProp, uintProp } from './prop-types.js';
import { applyProps, declsFromModel, defaultsOf, formatProps, propsHelp, type AnyPropDecl, type DefaultContext, type PropEnv, type PropType } from './props.js';
import { flatFromSpec, specFromFlat, virtioPciProxyCheck, virtioPciProxyProps } from './virtio-pci-proxy.js';

export const VIRTIO_SCSI_PCI = 'virtio-scsi-pci';

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


const DEVICE_PROPS = declsFromModel<VirtioScsiProps, VirtioScsiPropType>(VIRTIO_SCSI_PROPS, CODECS) as unknown as AnyPropDecl<Flat>[];

/** Every property `-device virtio-scsi-pci` takes, in canonical order: the device's, then the transport's. */
export const VIRTIO_SCSI_PCI_PROPS: readonly AnyPropDecl<Flat>[] = [
  ...DEVICE_PROPS,
  ...virtioPciProxyProps<Flat>({
    describe: 'num_queues + 3',
    compute: (ctx, s) => defaultScsiVectors(resolveScsiNumQueues(s.num_queues ?? 'auto', ctx.cpus)),
    help: 'MSI-X vectors: one per request queue, control, event and config; 0 means INTx',
  }),
];

const toSpec = (flat: Partial<Flat>, id: string | undefined): VirtioScsiPciSpec => specFromFlat<VirtioScsiPciSpec>(VIRTIO_SCSI_PCI, VIRTIO_SCSI_PROPS, flat, id);

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
  const proxy = virtioPciProxyCheck(VIRTIO_SCSI_PCI, spec, loc);
  return proxy ? E.left(proxy) : E.right(spec);
}

export function formatVirtioScsiPci(s: VirtioScsiPciSpec, ctx: DefaultContext): string[] {
  return formatProps(VIRTIO_SCSI_PCI_PROPS, flatFromSpec<Flat>(s), ctx);
}
