import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { GuestBlockDevice } from '../guest/blockdev/block-device.js';
import { readBio } from '../guest/blockdev/bio.js';
import type { BlkStatus } from '../guest/blockdev/request.js';
import { firstDifference, pattern } from '../guest/vfs/testing.js';
import { specOf } from './cmdline/test-helpers.js';
import { vmErrorMessage } from './errors.js';
import { startMachine, type Machine } from './machine.js';
import { cutPath, mapDevPaths, pathErrorMessage, restorePath, startMultipathd, withSecondPath } from './paths.js';
import { runSys, sysOk } from './run-sys.js';
import { readGuestFile, writeGuestFile } from './testing.js';

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

  it('is exactly the spec of the command line with both scsi-hds, share-rw=on on each', () => {
    const both = [...ARGV.slice(0, -2), '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=p0,wwn=0x5000c50015ea71ac,share-rw=on', '-device', 'scsi-hd,bus=scsi1.0,drive=lun0,id=p1,wwn=0x5000c50015ea71ac,share-rw=on'];
    expect(withSecondPath(specOf(ARGV), 'p0', 'scsi1.0', 'p1')).toEqual(E.right(specOf(both)));
  });

  it("refuses a -drive, which is one device's only; a reader on the node that shares write may stay", () => {
    const drive = ['-drive', 'if=none,id=d0,driver=memory,size=4M', '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1', '-device', 'scsi-hd,bus=scsi0.0,drive=d0,id=p0'];
    expect(msg(withSecondPath(specOf(drive), 'p0', 'scsi1.0', 'p1'))).toBe("-device p1: Drive 'd0' is already in use by another device");
    const withCd = specOf([...ARGV, '-device', 'scsi-cd,bus=scsi0.0,drive=lun0,id=cd0,share-rw=on']);
    expect(msg(withSecondPath(withCd, 'p0', 'scsi1.0', 'p1'))).toBe('ok');
  });

  it('refuses an unknown device or bus, the same bus, a used id', () => {
    const spec = specOf(ARGV);
    expect(msg(withSecondPath(spec, 'nope', 'scsi1.0', 'p1'))).toBe("Device 'nope' not found");
    expect(msg(withSecondPath(spec, 'p0', 'scsi9.0', 'p1'))).toBe("Bus 'scsi9.0' not found");
    expect(msg(withSecondPath(spec, 'p0', 'scsi0.0', 'p1'))).toBe('the second path must be on another HBA than scsi0.0');
    expect(msg(withSecondPath(spec, 'p0', 'scsi1.0', 'scsi0'))).toBe("Duplicate ID 'scsi0' for device");
  });
});

describe('the multipath map in the guest\'s /dev', () => {
  const FS_ARGV = [
    '-m', '256M',
    '-blockdev', 'driver=raw,node-name=lun0,file.driver=memory,file.size=32M',
    '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1',
    '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=p0,wwn=0x5000c50015ea71ac,share-rw=on',
    '-device', 'scsi-hd,bus=scsi1.0,drive=lun0,id=p1,wwn=0x5000c50015ea71ac,share-rw=on',
  ];

  it('is /dev/dm-0 and /dev/mapper/mpatha: mkfs, mount, files; a cut path loses none of them', () => {
    const booted = startMachine(specOf(FS_ARGV), { record: true });
    if (E.isLeft(booted)) throw new Error(vmErrorMessage(booted.left));
    const m = booted.right;
    const mpd = startMultipathd(m, { noPathRetry: 'queue', pollingIntervalNs: 1e9, selector: 'round-robin' });
    const map = [...mpd.maps.values()][0];
    expect(mapDevPaths(map)).toEqual(['/dev/dm-0', '/dev/mapper/mpatha']);
    expect([...m.guest.os.devices.keys()]).toEqual(['/dev/sda', '/dev/sdb', '/dev/dm-0', '/dev/mapper/mpatha']);
    expect(m.guest.os.devices.get('/dev/mapper/mpatha')).toBe(map);

    const { os } = m.guest;
    const t = os.spawn('admin', 0);
    // The map holds its paths: mkfs and mount of /dev/sda itself are refused, as Linux's exclusive open is.
    expect(runSys(m, os.syscalls.mkfsDevice!(t, '/dev/sda'))).toEqual(E.left('EBUSY'));
    expect(runSys(m, os.syscalls.mount(t, '/dev/sdb', '/mnt'))).toEqual(E.left('EBUSY'));
    sysOk(m, os.syscalls.mkfsDevice!(t, '/dev/mapper/mpatha'));
    sysOk(m, os.syscalls.mount(t, '/dev/mapper/mpatha', '/mnt'));
    const files = [
      { path: '/mnt/before', data: pattern(3 * 4096 + 100, 1) },
      { path: '/mnt/after', data: pattern(64 * 1024, 2) },
    ];
    writeGuestFile(m, t, files[0].path, files[0].data);
    expect(map.paths.every((p) => p.completed > 0)).toBe(true);

    // The first path's link goes; the file system goes on over the second.
    expect(msg(cutPath(m, 'p0'))).toBe('ok');
    writeGuestFile(m, t, files[1].path, files[1].data);
    // Remount: everything is read back from the LUN, through the map.
    sysOk(m, os.syscalls.umount(t, '/mnt'));
    sysOk(m, os.syscalls.mount(t, '/dev/mapper/mpatha', '/mnt'));
    for (const f of files) expect(firstDifference(readGuestFile(m, t, f.path, f.data.length), f.data)).toBe(-1);
    expect(map.paths.map((p) => [p.name, p.state])).toEqual([
      ['sda', 'failed'],
      ['sdb', 'active'],
    ]);
    sysOk(m, os.syscalls.umount(t, '/mnt'));
    mpd.stop();
    // The map's bios went out as clones on its paths.
    const exits = m.recorder!.events.filter((e) => e.kind === 'syscall' && e.phase === 'exit');
    expect(exits.length).toBeGreaterThan(10);
    // Every one but the two refused on the held paths.
    expect(exits.filter((e) => e.kind === 'syscall' && typeof e.ret === 'string').map((e) => e.kind === 'syscall' && [e.name, e.ret])).toEqual([
      ['mkfs', 'EBUSY'],
      ['mount', 'EBUSY'],
    ]);
    expect(m.recorder!.events.filter((e) => e.kind === 'bio' && e.dev === 'dm-0').length).toBeGreaterThan(10);
  });
});

describe('a medium error on the LUN, through the map', () => {
  // Sector 40000 reads with ENODATA once: a bad block of the host's disk, which scsi-hd answers MEDIUM ERROR.
  const BAD_ARGV = [
    '-m', '256M',
    '-blockdev', 'driver=raw,node-name=lun0,file.driver=blkdebug,file.image.driver=memory,file.image.size=32M,file.inject-error.0.event=read_aio,file.inject-error.0.errno=61,file.inject-error.0.sector=40000,file.inject-error.0.once=on',
    '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1',
    '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=p0,wwn=0x5000c50015ea71ac,share-rw=on',
    '-device', 'scsi-hd,bus=scsi1.0,drive=lun0,id=p1,wwn=0x5000c50015ea71ac,share-rw=on',
  ];

  function readSector(m: Machine, dev: GuestBlockDevice, sector: number): BlkStatus | undefined {
    const buf = m.guest.os.allocUser(8192);
    const addr = (buf.addr + 4095) & ~4095;
    let status: BlkStatus | undefined;
    const t = m.guest.os.spawn('reader', 0);
    m.guest.kernel.cpus[0].schedule('read', () => dev.submitBio(t, readBio(sector, [{ addr, len: 4096 }])).subscribe((s) => (status = s)));
    m.sim.run({ stop: () => status !== undefined, until: m.sim.now + 10e9 });
    return status;
  }

  it('reaches the reader as a medium error, is not retried on the other path, and fails no path', () => {
    const booted = startMachine(specOf(BAD_ARGV), { record: true });
    if (E.isLeft(booted)) throw new Error(vmErrorMessage(booted.left));
    const m = booted.right;
    const mpd = startMultipathd(m, { noPathRetry: 'queue', pollingIntervalNs: 1e9, selector: 'round-robin' });
    const map = [...mpd.maps.values()][0];
    expect(readSector(m, map, 40000)).toBe('medium');
    expect(map.paths.map((p) => p.state)).toEqual(['active', 'active']);
    // The bad block was read once (blkdebug's rule fired once): the map did not try the other path.
    expect(m.recorder!.events.filter((e) => e.kind === 'block-io-error')).toMatchObject([{ operation: 'read', action: 'report', reason: 'ENODATA' }]);
    // Read again: the host's disk answers now, over either path.
    expect(readSector(m, map, 40000)).toBe('ok');
    mpd.stop();
  });
});
