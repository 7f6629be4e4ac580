import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { pciDevfn } from '../host/devices/pci/pci-bus.js';
import { specOf } from './cmdline/test-helpers.js';
import { vmErrorMessage } from './errors.js';
import { deviceAdd, deviceDel, hotplugErrorMessage } from './hotplug.js';
import { startMachine, type Machine } from './machine.js';
import { reboot } from './power.js';

const mem = (id: string) => ['-blockdev', `driver=raw,node-name=${id},file.driver=memory,file.size=4M`];
/** The devices, over memory drives. */
const ARGV = [
  '-device', 'virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x8',
  ...mem('drive-scsi0-0-0-0'), ...mem('d1'), ...mem('d2'),
  '-device', 'scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0-0-0-0,id=scsi0-0-0-0',
];

function machine(argv: readonly string[] = ARGV): Machine {
  const m = startMachine(specOf(argv));
  if (E.isLeft(m)) throw new Error(vmErrorMessage(m.left));
  return m.right;
}

describe('a VM with virtio-scsi-pci and scsi-hd', () => {
  it('builds the HBA at slot 8 as 1af4:1048 class 0x0100, with the disk at 0:0:0 on its bus', () => {
    const m = machine();
    const [hba] = m.host.scsiHbas;
    expect({ name: hba.name, bus: hba.busName, queues: hba.model.numQueues() }).toEqual({ name: 'scsi0', bus: 'scsi0.0', queues: 3 });
    const cfg = (off: number) => m.host.pciHost.bus.configRead(pciDevfn(8, 0), off, 4);
    expect(cfg(0)).toBe(0x1048_1af4);
    expect(cfg(8) >>> 16).toBe(0x0100);
    expect(hba.disks.map((d) => [d.name, d.model.common.id, d.model.common.lun])).toEqual([['scsi0-0-0-0', 0, 0]]);
    expect(hba.model.bus.find(0, 0, 0)).toBe(hba.disks[0].model);
    expect(m.host.devices).toEqual([]);
  });

  it('a virtio-blk-pci and an HBA without addr take the next slots in command-line order', () => {
    const m = machine([...mem('a'), ...mem('b'), '-device', 'virtio-blk-pci,drive=a', '-device', 'virtio-scsi-pci', '-device', 'scsi-hd,drive=b']);
    expect(m.host.devices[0].transport.pci).toBeDefined();
    expect(m.host.pciHost.bus.configRead(pciDevfn(3, 0), 0, 4)).toBe(0x1048_1af4);
    expect(m.host.scsiHbas[0].disks).toHaveLength(1);
  });
});

describe('device_add / device_del of scsi-hd on a running VM', () => {
  it('device_add puts the disk on the bus; the spec follows, so a reboot keeps it', () => {
    const m = machine();
    const r = deviceAdd(m, 'scsi-hd,bus=scsi0.0,scsi-id=1,lun=5,drive=d1,id=hot1');
    expect(E.isRight(r)).toBe(true);
    expect(m.host.scsiHbas[0].model.bus.find(0, 1, 5)?.name).toBe('hot1');
    expect(m.spec.devices.map((d) => d.id)).toEqual(['scsi0', 'scsi0-0-0-0', 'hot1']);
    const b = reboot(m);
    if (E.isLeft(b)) throw new Error(vmErrorMessage(b.left));
    expect(b.right.host.scsiHbas[0].disks.map((d) => d.name)).toEqual(['scsi0-0-0-0', 'hot1']);
  });

  it('device_add refuses what the command line refuses: a used LUN, an unknown bus, a drive in use, a PCI device', () => {
    const m = machine();
    const msg = (text: string) => {
      const r = deviceAdd(m, text);
      return E.isLeft(r) ? hotplugErrorMessage(r.left) : 'ok';
    };
    expect(msg('scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=d1,id=x')).toBe("qemu-system-x86_64: device_add scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=d1,id=x: lun already used by 'scsi0-0-0-0'");
    expect(msg('scsi-hd,bus=scsi1.0,drive=d1')).toMatch(/Bus 'scsi1.0' not found$/);
    // A -blockdev node may have several devices, but only when every one has share-rw=on.
    expect(msg('scsi-hd,drive=drive-scsi0-0-0-0')).toMatch(/Permission conflict on node 'drive-scsi0-0-0-0': permissions 'write' are both required by block device 'scsi0-0-0-0'/);
    expect(msg('scsi-hd,drive=d1,id=scsi0-0-0-0')).toMatch(/Duplicate ID 'scsi0-0-0-0' for device$/);
    expect(msg('virtio-blk-pci,drive=d2')).toBe('hot-plugging virtio-blk-pci (a PCI device) is not modelled by iopath');
    expect(m.spec.devices).toHaveLength(2);
  });

  it('device_del takes the disk off the bus and out of the spec; unknown ids are QEMU\'s "not found"', () => {
    const m = machine();
    expect(E.isRight(deviceAdd(m, 'scsi-hd,drive=d2,id=hot2'))).toBe(true);
    expect(E.isRight(deviceDel(m, 'scsi0-0-0-0'))).toBe(true);
    // hot2 took the first free target for LUN 0 (1); target 0 is gone.
    expect([m.host.scsiHbas[0].model.bus.find(0, 1, 0)?.name, m.host.scsiHbas[0].model.bus.find(0, 0, 0)]).toEqual(['hot2', undefined]);
    expect(m.spec.devices.map((d) => d.id)).toEqual(['scsi0', 'hot2']);
    const again = deviceDel(m, 'scsi0-0-0-0');
    expect(E.isLeft(again) && hotplugErrorMessage(again.left)).toBe("Device 'scsi0-0-0-0' not found");
    const pci = deviceDel(m, 'scsi0');
    expect(E.isLeft(pci) && pci.left._tag).toBe('NotHotpluggable');
    // The drive is free again.
    const back = deviceAdd(m, 'scsi-hd,drive=drive-scsi0-0-0-0,scsi-id=0,lun=0');
    expect(E.isLeft(back) ? hotplugErrorMessage(back.left) : 'ok').toBe('ok');
    // A reboot puts every disk where it is now: hot2 stays at target 1 (its -1 was pinned).
    const b = reboot(m);
    if (E.isLeft(b)) throw new Error(vmErrorMessage(b.left));
    expect(b.right.host.scsiHbas[0].disks.map((d) => [d.name, d.model.common.id, d.model.common.lun])).toEqual([
      ['hot2', 1, 0],
      ['scsi-hd2', 0, 0],
    ]);
  });
});
