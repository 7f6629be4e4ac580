/**
 * Hot-plug on a running machine: QMP's `device_add` and `device_del` for SCSI devices
 * (scsi-hd, scsi-cd) on a virtio-scsi HBA.
 *
 *   deviceAdd(m, 'scsi-hd,bus=scsi0.0,scsi-id=1,lun=0,drive=d1,id=disk1');
 *   deviceDel(m, 'disk1');
 *
 * `device_add` takes the same `driver,key=value` text as `-device` and runs the same checks
 * (vm/cmdline), against the machine's current devices and drives: the drive must exist
 * (`-drive if=none` or `-blockdev` on the command line; blockdev-add is not modelled) and be
 * free, the address free on the bus. The disk joins the bus and the HBA raises its event
 * (TRANSPORT_RESET / RESCAN and REPORTED LUNS DATA HAS CHANGED, when the driver negotiated
 * VIRTIO_SCSI_F_HOTPLUG); `device_del` raises TRANSPORT_RESET / REMOVED, cancels what the
 * device had in flight and takes it off the bus. Both act at the machine's current virtual
 * time, as the main loop handles a QMP command between other work.
 *
 * The machine's spec follows: a later reboot (vm/power.ts) boots with the devices the
 * machine has now, cold-plugged, as QEMU's system_reset keeps hot-plugged devices.
 * PCI hot-plug (virtio-blk-pci, virtio-scsi-pci) is not modelled.
 */
import * as E from 'fp-ts/lib/Either.js';
import { addDevice, type DriveState } from './cmdline/parse.js';
import { cmdlineErrorMessage, isEmptyDrive, type CmdlineError } from './cmdline/index.js';
import { ScsiAddressBook } from './cmdline/scsi-address.js';
import { vmErrorMessage, type VmError } from './errors.js';
import { buildScsiDisk, hostBuildEnv, type HostScsiDisk } from './host.js';
import type { Machine } from './machine.js';
import type { DeviceSpec, ScsiDiskSpec, VmSpec } from './spec.js';

export type HotplugError =
  | { readonly _tag: 'MachineOff' }
  /** The device text is wrong, as it would be on the command line. */
  | { readonly _tag: 'Cmdline'; readonly error: CmdlineError }
  | { readonly _tag: 'Build'; readonly error: VmError }
  | { readonly _tag: 'DeviceNotFound'; readonly id: string }
  | { readonly _tag: 'NotHotpluggable'; readonly driver: string };

/** QMP's error description. */
export function hotplugErrorMessage(e: HotplugError): string {
  switch (e._tag) {
    case 'MachineOff':
      return 'the machine is off';
    case 'Cmdline':
      return cmdlineErrorMessage(e.error);
    case 'Build':
      return vmErrorMessage(e.error);
    case 'DeviceNotFound':
      return `Device '${e.id}' not found`;
    case 'NotHotpluggable':
      return `hot-plugging ${e.driver} (a PCI device) is not modelled by iopath`;
  }
}

/** The drives as the parser tracks them: in use by a device of `spec`, empty or not. */
function driveStates(spec: VmSpec): Map<string, DriveState> {
  const used = new Set(spec.devices.flatMap((d) => ('drive' in d && d.drive !== undefined ? [d.drive] : [])));
  return new Map(spec.drives.map((d) => [d.id, { inUse: used.has(d.id), automatic: false, empty: isEmptyDrive(d) }] as const));
}

/**
 * The SCSI devices of `devices` with the scsi-id and lun they have on the running machine
 * (-1 resolved), so that a reboot after hot-plugs puts every device where it is now, as
 * QEMU's realized devices keep the address they were given.
 */
function pinAddresses(m: Machine, devices: readonly DeviceSpec[]): DeviceSpec[] {
  const live = new Map(m.host.scsiHbas.flatMap((h) => h.disks.map((d) => [d.spec as DeviceSpec, d] as const)));
  return devices.map((d) => {
    const hd = live.get(d);
    if (hd === undefined || (d.driver !== 'scsi-hd' && d.driver !== 'scsi-cd')) return d;
    const c = hd.model.common;
    if (d.props['scsi-id'] === c.id && d.props.lun === c.lun) return d;
    const pinned = { ...d, props: { ...d.props, 'scsi-id': c.id, lun: c.lun } } as ScsiDiskSpec;
    hd.spec = pinned;
    return pinned;
  });
}

/** QMP device_add of a scsi-hd or scsi-cd. */
export function deviceAdd(m: Machine, text: string): E.Either<HotplugError, HostScsiDisk> {
  if (m.state === 'off') return E.left({ _tag: 'MachineOff' });
  const next: VmSpec = { ...m.spec, devices: [...m.spec.devices] };
  const buses = m.host.scsiHbas.map((h) => ({ bus: h.busName, devices: h.model.bus.devices.map((d) => ({ name: d.name, channel: d.common.channel, id: d.common.id, lun: d.common.lun })) }));
  const parsed = addDevice(text, `device_add ${text}`, next, driveStates(m.spec), ScsiAddressBook.ofBuses(buses));
  if (E.isLeft(parsed)) return E.left({ _tag: 'Cmdline', error: parsed.left });
  const dev = parsed.right;
  if (dev.driver !== 'scsi-hd' && dev.driver !== 'scsi-cd') return E.left({ _tag: 'NotHotpluggable', driver: dev.driver });
  const name = dev.id ?? `${dev.driver}${next.devices.length - 1}`;
  const built = buildScsiDisk(hostBuildEnv(next, m.sim, m.trace, m.costs, m.mem, m.host), dev, name, true);
  if (E.isLeft(built)) return E.left({ _tag: 'Build', error: built.left });
  m.spec = { ...next, devices: pinAddresses(m, next.devices) };
  return E.right(built.right);
}

/** QMP device_del of a SCSI device, by its id. */
export function deviceDel(m: Machine, id: string): E.Either<HotplugError, ScsiDiskSpec> {
  if (m.state === 'off') return E.left({ _tag: 'MachineOff' });
  for (const hba of m.host.scsiHbas) {
    const i = hba.disks.findIndex((d) => d.name === id);
    if (i < 0) continue;
    const disk = hba.disks[i];
    hba.model.hotunplug(disk.model);
    hba.disks.splice(i, 1);
    m.spec = { ...m.spec, devices: pinAddresses(m, m.spec.devices.filter((d) => d !== disk.spec)) };
    return E.right(disk.spec);
  }
  const other = m.spec.devices.find((d) => d.id === id);
  return E.left(other ? { _tag: 'NotHotpluggable', driver: other.driver } : { _tag: 'DeviceNotFound', id });
}
