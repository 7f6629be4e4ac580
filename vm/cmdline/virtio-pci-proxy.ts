/**
 * What every `-device virtio-*-pci` shares: the PCI proxy's and front end's properties
 * (hw/virtio/virtio-pci.c virtio_pci_properties and the proxies' own: `ioeventfd`,
 * `vectors`, `iothread`, `disable-legacy`, `modern-pio-notify`, `addr`), the split of a
 * table's flat record into a spec with the device's properties under `props`, and the
 * proxy's realize checks (MSI-X vector count, an iothread needing ioeventfd).
 *
 * Only `vectors`' default differs between devices (virtio-blk: num-queues + 1;
 * virtio-scsi: num_queues + 3), so each caller passes it.
 */
import type { PciDeviceSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';
import { boolProp, disableLegacyProp, iothreadProp, pciAddrProp, uintProp } from './prop-types.js';
import { prop, type AnyPropDecl, type DefaultContext } from './props.js';

/** The most MSI-X vectors a PCI function can have (PCI_MSIX_FLAGS_QSIZE + 1). */
export const PCI_MSIX_MAX_VECTORS = 2048;

/** The fields every virtio PCI device spec holds beside the device's own properties (see vm/spec.ts). */
export type VirtioPciProxyFields = Omit<PciDeviceSpec, 'driver' | 'id' | 'props'>;

/** The device's rule for `vectors` when it is unset. */
export interface VectorsDefault<S> {
  readonly describe: string;
  compute(ctx: DefaultContext, spec: Partial<S>): number;
  readonly help: string;
}

const value = <T>(v: T) => ({ kind: 'value', value: v }) as const;
const none = { kind: 'none' } as const;

/** The proxy's properties, in canonical order, for a table over `S`. */
export function virtioPciProxyProps<S extends VirtioPciProxyFields>(vectors: VectorsDefault<S>): AnyPropDecl<S>[] {
  const p = prop<VirtioPciProxyFields>();
  const decls = [
    p({ name: 'ioeventfd', field: 'ioeventfd', type: boolProp, default: value(true), help: 'notifies signal an eventfd inside KVM instead of exiting to QEMU' }),
    p({
      name: 'vectors',
      field: 'vectors',
      type: uintProp(32),
      default: { kind: 'computed', describe: vectors.describe, compute: (ctx, s) => vectors.compute(ctx, s as Partial<S>) },
      help: vectors.help,
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
  return decls as unknown as AnyPropDecl<S>[];
}

/** A device spec: the driver, an optional id, the device's properties under `props`, the rest beside them. */
interface SpecShape {
  readonly driver: string;
  readonly id?: string;
  readonly props: object;
}

/** Split a table's flat record into a spec: keys of `deviceProps` go under `props`, the rest stay on top. */
export function specFromFlat<Spec extends SpecShape>(driver: Spec['driver'], deviceProps: object, flat: object, id: string | undefined): Spec {
  const props: Record<string, unknown> = {};
  const transport: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) (Object.hasOwn(deviceProps, k) ? props : transport)[k] = v;
  return { driver, ...(id !== undefined ? { id } : {}), ...transport, props } as unknown as Spec;
}

/** The inverse of `specFromFlat`: the spec's fields and its device's properties in one record. */
export function flatFromSpec<Flat>(s: SpecShape): Flat {
  const { driver: _driver, id: _id, props, ...transport } = s;
  return { ...transport, ...props } as Flat;
}

/** The proxy's realize checks, after the device's: at most 2048 MSI-X vectors; an iothread needs ioeventfd. */
export function virtioPciProxyCheck(type: string, s: VirtioPciProxyFields, loc: string): CmdlineError | undefined {
  if (s.vectors > PCI_MSIX_MAX_VECTORS) {
    return { _tag: 'PropertyValueOutOfRange', loc, type, prop: 'vectors', value: s.vectors, min: 0, max: PCI_MSIX_MAX_VECTORS };
  }
  if (s.iothread !== undefined && !s.ioeventfd) return { _tag: 'IothreadNeedsIoeventfd', loc };
  return undefined;
}
