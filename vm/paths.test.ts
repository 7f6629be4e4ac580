import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { specOf } from './cmdline/test-helpers.js';
import { vmErrorMessage } from './errors.js';
import { startMachine } from './machine.js';
import { cutPath, pathErrorMessage, restorePath, withSecondPath } from './paths.js';

const ARGV = [
  '-blockdev', 'driver=raw,node-name=lun0,file.driver=memory,file.size=4M',
  '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1',
  '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=p0,wwn=0x5000c50015ea71ac',
];

const msg = <T>(r: E.Either<Parameters<typeof pathErrorMessage>[0], T>): string => (E.isLeft(r) ? pathErrorMessage(r.left) : 'ok');

describe('a second path to a scsi-hd', () => {
  it('is the same drive and properties on another HBA; the guest sees sda and sdb', () => {
    const two = withSecondPath(specOf(ARGV), 'p0', 'scsi1.0', 'p1');
    if (E.isLeft(two)) throw new Error(pathErrorMessage(two.left));
    const m = startMachine(two.right);
    if (E.isLeft(m)) throw new Error(vmErrorMessage(m.left));
    expect(m.right.host.scsiHbas.map((h) => h.disks.map((d) => [d.name, d.spec.drive]))).toEqual([[['p0', 'lun0']], [['p1', 'lun0']]]);
    expect([...m.right.guest.sd.disks.keys()]).toEqual(['sda', 'sdb']);
    expect(msg(cutPath(m.right, 'p1'))).toBe('ok');
    expect(m.right.host.scsiHbas[1].model.bus.devices).toEqual([]);
    expect(msg(cutPath(m.right, 'p1'))).toBe("the path to 'p1' is already cut");
    expect(msg(restorePath(m.right, 'p1'))).toBe('ok');
    expect(msg(restorePath(m.right, 'p1'))).toBe("the path to 'p1' is not cut");
    expect(msg(cutPath(m.right, 'scsi0'))).toBe("'scsi0' is not a scsi-hd: only a SCSI disk is a path");
    expect(msg(cutPath(m.right, 'zz'))).toBe("Device 'zz' not found");
  });

  it('refuses an unknown device or bus, the same bus, a used id', () => {
    const spec = specOf(ARGV);
    expect(msg(withSecondPath(spec, 'nope', 'scsi1.0', 'p1'))).toBe("Device 'nope' not found");
    expect(msg(withSecondPath(spec, 'p0', 'scsi9.0', 'p1'))).toBe("Bus 'scsi9.0' not found");
    expect(msg(withSecondPath(spec, 'p0', 'scsi0.0', 'p1'))).toBe('the second path must be on another HBA than scsi0.0');
    expect(msg(withSecondPath(spec, 'p0', 'scsi1.0', 'scsi0'))).toBe("Duplicate ID 'scsi0' for device");
  });
});
