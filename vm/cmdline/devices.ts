/**
 * The registry of `-device` models. Each model registers its name, aliases, bus, help and
 * the three things the front end needs: create (from option pairs), format (back to option
 * text) and its property help. Nothing else switches on a device's name.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { DeviceSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';
import type { OptPair } from './opts.js';
import type { DefaultContext, PropEnv } from './props.js';
import { createScsiDiskSpec, formatScsiDiskSpec, scsiCdHelp, scsiHdHelp } from './scsi-disk.js';
import { createVirtioBlkPci, formatVirtioBlkPci, VIRTIO_BLK_PCI, virtioBlkPciHelp } from './virtio-blk-pci.js';
import { createVirtioScsiPci, formatVirtioScsiPci, VIRTIO_SCSI_PCI, virtioScsiPciHelp } from './virtio-scsi-pci.js';

export interface DeviceModel<D extends DeviceSpec> {
  readonly name: D['driver'];
  readonly aliases: readonly string[];
  /** The bus type it plugs into: a PCI slot, or a SCSI bus (`bus=<hba>.0`). */
  readonly bus: 'PCI' | 'SCSI';
  readonly category: 'Storage devices';
  readonly desc: string;
  /** The text of `-device <name>,help`. */
  help(): string;
  /** Build from the pairs after the model name, `id=` and `bus=` (resolved: a SCSI model's bus name); runs the realize checks. */
  create(
    pairs: readonly OptPair[],
    where: { loc: string; env: PropEnv; id?: string; bus?: string },
    ctx: DefaultContext,
  ): E.Either<CmdlineError, D>;
  /** The pairs after `<name>,id=…` that `create` turns back into `spec`. */
  format(spec: D, ctx: DefaultContext): string[];
}

type Registry = { readonly [K in DeviceSpec['driver']]: DeviceModel<Extract<DeviceSpec, { driver: K }>> };

export const DEVICE_MODELS: Registry = {
  [VIRTIO_BLK_PCI]: {
    name: VIRTIO_BLK_PCI,
    aliases: ['virtio-blk'],
    bus: 'PCI',
    category: 'Storage devices',
    desc: 'Virtio block device (modern virtio-pci)',
    help: virtioBlkPciHelp,
    create: createVirtioBlkPci,
    format: formatVirtioBlkPci,
  },
  [VIRTIO_SCSI_PCI]: {
    name: VIRTIO_SCSI_PCI,
    aliases: ['virtio-scsi'],
    bus: 'PCI',
    category: 'Storage devices',
    desc: 'Virtio SCSI HBA (modern virtio-pci)',
    help: virtioScsiPciHelp,
    create: createVirtioScsiPci,
    format: formatVirtioScsiPci,
  },
  'scsi-hd': {
    name: 'scsi-hd',
    aliases: [],
    bus: 'SCSI',
    category: 'Storage devices',
    desc: 'virtual SCSI disk',
    help: scsiHdHelp,
    create: (pairs, where, ctx) => createScsiDiskSpec('scsi-hd', pairs, where, ctx),
    format: formatScsiDiskSpec,
  },
  'scsi-cd': {
    name: 'scsi-cd',
    aliases: [],
    bus: 'SCSI',
    category: 'Storage devices',
    desc: 'virtual SCSI CD-ROM',
    help: scsiCdHelp,
    create: (pairs, where, ctx) => createScsiDiskSpec('scsi-cd', pairs, where, ctx),
    format: formatScsiDiskSpec,
  },
};

/** The model for a `-device` name or alias. */
export function findDeviceModel(name: string): DeviceModel<DeviceSpec> | undefined {
  for (const m of Object.values(DEVICE_MODELS) as DeviceModel<DeviceSpec>[]) {
    if (m.name === name || m.aliases.includes(name)) return m;
  }
  return undefined;
}

/** The model that made `spec`. */
export function deviceModelOf(spec: DeviceSpec): DeviceModel<DeviceSpec> {
  return DEVICE_MODELS[spec.driver] as DeviceModel<DeviceSpec>;
}

/** The text of `-device help`, in QEMU's layout. */
export function deviceListHelp(): string {
  const lines = (Object.values(DEVICE_MODELS) as DeviceModel<DeviceSpec>[]).map(
    (m) =>
      `name "${m.name}", bus ${m.bus}${m.aliases.map((a) => `, alias "${a}"`).join('')}, desc "${m.desc}"`,
  );
  return ['Storage devices:', ...lines].join('\n');
}
