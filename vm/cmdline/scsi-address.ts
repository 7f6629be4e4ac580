/**
 * SCSI addresses on the command line: QEMU checks a scsi-hd's channel, scsi-id and lun when
 * it joins its bus (scsi_qdev_realize → scsi_bus_check_address), picking the first free
 * scsi-id or lun for -1. The parser replays that with the model's own `ScsiBus` and a
 * placeholder device per `-device`, so the checks and messages are the bus's ("bad scsi
 * device id: 256", "lun already used by 'scsi0-0-0-0'", "no free target").
 */
import * as E from 'fp-ts/lib/Either.js';
import { ScsiBus } from '../../host/devices/scsi-bus/bus.js';
import { ScsiDeviceCommon, type ScsiDevice } from '../../host/devices/scsi-bus/device.js';
import { VIRTIO_SCSI_MAX_CHANNEL, VIRTIO_SCSI_MAX_LUN, VIRTIO_SCSI_MAX_TARGET } from '../../hw/virtio/scsi.js';
import { scsiBusNames, type DeviceSpec, type ScsiDiskSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';

/** A device that only holds an address. */
function placeholder(spec: ScsiDiskSpec): ScsiDevice {
  const common = new ScsiDeviceCommon({ channel: spec.props.channel, id: spec.props['scsi-id'], lun: spec.props.lun });
  return {
    name: spec.id ?? '(null)',
    common,
    type: 0,
    blocksize: 512,
    newHandler: () => ({ sendCommand: () => 0, continue: () => undefined, cancelIo: () => false }),
    reset: () => undefined,
  };
}

export class ScsiAddressBook {
  private readonly buses = new Map<string, ScsiBus>();

  /** A book holding the devices as they are on a running machine's buses (addresses resolved). */
  static ofBuses(buses: readonly { bus: string; devices: readonly { name: string; channel: number; id: number; lun: number }[] }[]): ScsiAddressBook {
    const book = new ScsiAddressBook();
    for (const b of buses) {
      const bus = book.busNamed(b.bus);
      for (const d of b.devices) {
        const spec = { driver: 'scsi-hd', id: d.name, bus: b.bus, props: { channel: d.channel, 'scsi-id': d.id, lun: d.lun } } as unknown as ScsiDiskSpec;
        bus.attach(placeholder(spec));
      }
    }
    return book;
  }

  private busNamed(name: string): ScsiBus {
    let bus = this.buses.get(name);
    if (bus === undefined) {
      bus = new ScsiBus({ tcq: true, maxChannel: VIRTIO_SCSI_MAX_CHANNEL, maxTarget: VIRTIO_SCSI_MAX_TARGET, maxLun: VIRTIO_SCSI_MAX_LUN });
      this.buses.set(name, bus);
    }
    return bus;
  }

  /** Put `dev` on its bus, after `before` (the devices already on the line). */
  place(before: readonly DeviceSpec[], dev: ScsiDiskSpec, loc: string): E.Either<CmdlineError, void> {
    if (!scsiBusNames(before).some((b) => b.bus === dev.bus)) return E.left({ _tag: 'BusNotFound', loc, bus: dev.bus });
    const r = this.busNamed(dev.bus).attach(placeholder(dev));
    return E.isLeft(r) ? E.left({ _tag: 'ScsiAddress', loc, message: r.left.message }) : E.right(undefined);
  }
}
