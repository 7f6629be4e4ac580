/**
 * Several paths to one logical unit, and cutting one at a chosen instant.
 *
 * In QEMU, two virtio-scsi HBAs reach one LUN when each has a scsi-hd on the same
 * -blockdev node: `-device scsi-hd,bus=scsi0.0,drive=lun0,share-rw=on,wwn=…` and the same
 * on scsi1.0, each device with a BlockBackend of its own over the node. Without
 * share-rw=on on both, the second device's write permission conflicts with the first's
 * and QEMU refuses it; a `-drive` is one device's only (vm/cmdline/block-perm.ts).
 * `withSecondPath` turns a spec with the first scsi-hd into what that command line gives:
 * share-rw=on on the first, and a second scsi-hd after the other devices with the same
 * drive and properties (so the same INQUIRY data and VPD page 0x83, the WWID multipathd
 * groups them by) on another bus.
 *
 * `cutPath` takes the link between an HBA and one of its scsi-hds down, with no word to
 * the guest, as a pulled cable or a failed switch port would: the device leaves its bus
 * without the hot-unplug event, its commands in flight are canceled as QEMU cancels them
 * (answered VIRTIO_SCSI_S_ABORTED once their I/O came back, so a write that was under
 * way has landed before the guest hears it failed) and new commands find no device
 * (VIRTIO_SCSI_S_BAD_TARGET). QEMU has no such switch for virtio-scsi; this is iopath's
 * fault injection. `restorePath` puts the device back, where it reports the power-on
 * unit attention, as a device reconnected does. `device_del` (vm/hotplug.ts) is the other
 * way a path goes: the guest is told, and sd removes the disk.
 *
 * `startMultipathd` runs the guest's multipathd over sd's disks (guest/dm-multipath); each
 * map it makes enters the guest's /dev as udev and dm would name it, `/dev/dm-N` and
 * `/dev/mapper/mpathX`, so that file systems can be made and mounted on it.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MultipathDevice } from '../guest/dm-multipath/multipath.js';
import { Multipathd, type MultipathdOptions } from '../guest/dm-multipath/multipathd.js';
import { driveShareMessage } from './cmdline/block-perm.js';
import type { HostScsiDisk } from './host.js';
import type { Machine } from './machine.js';
import { scsiBusNames, type ScsiDiskSpec, type VmSpec } from './spec.js';

export type PathError =
  | { readonly _tag: 'NoSuchDevice'; readonly id: string }
  | { readonly _tag: 'NotAScsiDisk'; readonly id: string }
  | { readonly _tag: 'NoSuchBus'; readonly bus: string }
  | { readonly _tag: 'SameBus'; readonly bus: string }
  | { readonly _tag: 'DuplicateId'; readonly id: string }
  /** QEMU would refuse the second device on the drive (a -drive, or a node user that does not share). */
  | { readonly _tag: 'DriveShare'; readonly id: string; readonly message: string }
  | { readonly _tag: 'AlreadyCut'; readonly id: string }
  | { readonly _tag: 'NotCut'; readonly id: string }
  | { readonly _tag: 'MachineOff' };

export function pathErrorMessage(e: PathError): string {
  switch (e._tag) {
    case 'NoSuchDevice':
      return `Device '${e.id}' not found`;
    case 'NotAScsiDisk':
      return `'${e.id}' is not a scsi-hd: only a SCSI disk is a path`;
    case 'NoSuchBus':
      return `Bus '${e.bus}' not found`;
    case 'SameBus':
      return `the second path must be on another HBA than ${e.bus}`;
    case 'DuplicateId':
      return `Duplicate ID '${e.id}' for device`;
    case 'DriveShare':
      return `-device ${e.id}: ${e.message}`;
    case 'AlreadyCut':
      return `the path to '${e.id}' is already cut`;
    case 'NotCut':
      return `the path to '${e.id}' is not cut`;
    case 'MachineOff':
      return 'the machine is off';
  }
}

/**
 * `spec` with share-rw=on on scsi-hd `id` and a second scsi-hd named `newId` for its
 * drive on `bus`, with share-rw=on: what the command line with both devices gives.
 */
export function withSecondPath(spec: VmSpec, id: string, bus: string, newId: string): E.Either<PathError, VmSpec> {
  const dev = spec.devices.find((d) => d.id === id);
  if (dev === undefined) return E.left({ _tag: 'NoSuchDevice', id });
  if (dev.driver !== 'scsi-hd') return E.left({ _tag: 'NotAScsiDisk', id });
  if (!scsiBusNames(spec.devices).some((b) => b.bus === bus)) return E.left({ _tag: 'NoSuchBus', bus });
  if (bus === dev.bus) return E.left({ _tag: 'SameBus', bus });
  if (spec.devices.some((d) => d.id === newId)) return E.left({ _tag: 'DuplicateId', id: newId });
  const first: ScsiDiskSpec = { ...dev, shareRw: true };
  const devices = spec.devices.map((d) => (d === dev ? first : d));
  const second: ScsiDiskSpec = { ...first, id: newId, bus, props: { ...dev.props } };
  const refused = driveShareMessage(spec.drives, devices, second);
  if (refused !== undefined) return E.left({ _tag: 'DriveShare', id: newId, message: refused });
  return E.right({ ...spec, devices: [...devices, second] });
}

function findDisk(m: Machine, id: string): E.Either<PathError, HostScsiDisk> {
  if (m.state === 'off') return E.left({ _tag: 'MachineOff' });
  for (const h of m.host.scsiHbas) {
    const d = h.disks.find((x) => x.name === id);
    if (d !== undefined) return E.right(d);
  }
  return E.left(m.spec.devices.some((d) => d.id === id) ? { _tag: 'NotAScsiDisk', id } : { _tag: 'NoSuchDevice', id });
}

/** Take the link to scsi-hd `id` down, now (the machine's current virtual time). */
export function cutPath(m: Machine, id: string): E.Either<PathError, HostScsiDisk> {
  const d = findDisk(m, id);
  if (E.isLeft(d)) return d;
  const { hba, model } = d.right;
  if (!hba.model.bus.detach(model)) return E.left({ _tag: 'AlreadyCut', id });
  if (m.trace.active) m.trace.emit({ kind: 'note', t: m.sim.now, where: hba.name, text: `link to ${id} down` });
  return d;
}

/** Bring the link to scsi-hd `id` back. */
export function restorePath(m: Machine, id: string): E.Either<PathError, HostScsiDisk> {
  const d = findDisk(m, id);
  if (E.isLeft(d)) return d;
  const { hba, model } = d.right;
  if (hba.model.bus.devices.includes(model)) return E.left({ _tag: 'NotCut', id });
  if (E.isLeft(hba.model.bus.attach(model))) return E.left({ _tag: 'NotCut', id });
  if (m.trace.active) m.trace.emit({ kind: 'note', t: m.sim.now, where: hba.name, text: `link to ${id} up` });
  return d;
}

/** The /dev entries of a map: its dm name and its alias under /dev/mapper. */
export const mapDevPaths = (map: MultipathDevice): string[] => [`/dev/${map.name}`, `/dev/mapper/${map.alias}`];

/** multipathd in the guest, over sd's disks now and later, its maps in /dev; its checker loop started. */
export function startMultipathd(m: Machine, opts: MultipathdOptions = {}): Multipathd {
  const mpd = new Multipathd(m.guest.kernel, opts);
  const devices = m.guest.devices;
  mpd.onMapAdded = (map) => {
    for (const path of mapDevPaths(map)) devices.set(path, map);
  };
  mpd.attachSd(m.guest.sd);
  mpd.start();
  return mpd;
}
