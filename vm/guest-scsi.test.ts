/**
 * virtio-scsi in a booted VM, end to end: the guest binds virtio_scsi to the HBA, scans
 * its bus, and sd registers /dev/sdX beside virtio-blk's /dev/vdX; O_DIRECT jobs, mkfs and
 * mount work on /dev/sda as on /dev/vda; a hot-plugged scsi-hd appears in /dev and a
 * removed one goes, its I/O failing cleanly.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDONLY, O_WRONLY } from '../guest/vfs/syscalls-api.js';
import { firstDifference, pattern } from '../guest/vfs/testing.js';
import type { JobIo } from '../workload/block-job.js';
import { DEFAULT_JOB } from '../workload/index.js';
import { vmErrorMessage } from './errors.js';
import { guestDisk, guestDisks } from './guest-boot.js';
import { deviceAdd, deviceDel, hotplugErrorMessage } from './hotplug.js';
import { runJobs } from './run-jobs.js';
import { sysOk } from './run-sys.js';
import { bootVm } from './testing.js';

const MiB = 1 << 20;
const mem = (id: string, size: number): string[] => ['-blockdev', `driver=raw,node-name=${id},file.driver=memory,file.size=${size}`];
const ARGS = [
  '-m', '256M',
  ...mem('b0', 8 * MiB), ...mem('s0', 16 * MiB), ...mem('s1', 4 * MiB), ...mem('h0', 2 * MiB),
  '-device', 'virtio-blk-pci,drive=b0',
  '-device', 'virtio-scsi-pci,id=scsi0',
  '-device', 'scsi-hd,drive=s0,id=hd0,scsi-id=0',
  '-device', 'scsi-hd,drive=s1,id=hd1,scsi-id=3',
];

/** Read back `bytes` of drive `id` through its BlockBackend. */
function image(m: ReturnType<typeof bootVm>, id: string, bytes: number): Uint8Array {
  let out: Uint8Array | undefined;
  m.host.drives.get(id)!.blk.read(0, bytes, (err, data) => {
    if (err) throw new Error(err.message);
    out = Uint8Array.from(data!);
  });
  m.sim.run({ stop: () => out !== undefined });
  return out!;
}

/** One job's I/O list as an iterator. */
const listIos = (ios: JobIo[]): Iterator<JobIo> => ios[Symbol.iterator]();

describe('virtio-scsi at boot', () => {
  it('the scan finds both disks; /dev has vda, sda and sdb with the drives\' sizes', () => {
    const m = bootVm(ARGS);
    expect([...m.guest.os.devices.keys()]).toEqual(['/dev/vda', '/dev/sda', '/dev/sdb']);
    expect(guestDisks(m.guest).map((d) => [d.name, d.bdev.capacitySectors * 512])).toEqual([
      ['vda', 8 * MiB],
      ['sda', 16 * MiB],
      ['sdb', 4 * MiB],
    ]);
    expect(m.guest.scsiHosts).toHaveLength(1);
    expect([...m.guest.scsiHosts[0].host.devices.keys()]).toEqual(['0:0:0', '0:3:0']);
  });
});

describe('jobs on /dev/sdX', () => {
  it('an O_DIRECT job on /dev/sdb writes what it was given, at the offsets given, and only on that drive', () => {
    const m = bootVm(ARGS);
    const ios: JobIo[] = [0, 3, 1, 1023, 7].map((blk) => ({ op: 'write', offset: blk * 4096, bytes: 4096 }));
    const data = new Map(ios.map((io, i) => [io, pattern(4096, 100 + i)] as const));
    const r = runJobs(m, [{ ...DEFAULT_JOB, filename: '/dev/sdb', iodepth: 4 }], {
      ios: () => listIos(ios),
      hooks: { beforeWrite: (io, buf) => m.mem.write(buf, data.get(io)!) },
    });
    if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
    expect(r.right.jobs).toEqual([{ name: 'default', ios: 5, errors: 0 }]);
    const img = image(m, 's1', 4 * MiB);
    for (const io of ios) expect(firstDifference(img.subarray(io.offset, io.offset + 4096), data.get(io)!)).toBe(-1);
    expect(image(m, 's0', 16 * MiB).every((b) => b === 0)).toBe(true);
    expect(r.right.metrics.ios).toBe(5);
  });

  it('names the devices the guest has when the filename is not one of them', () => {
    const m = bootVm(ARGS);
    const r = runJobs(m, [{ ...DEFAULT_JOB, filename: '/dev/sdc' }]);
    expect(E.isLeft(r) && vmErrorMessage(r.left)).toMatch(/filename=\/dev\/sdc: no such block device \(have \/dev\/vda, \/dev\/sda, \/dev\/sdb\)/);
  });
});

describe('a file system on /dev/sda', () => {
  it('mkfs, mount, write, fsync, umount, mount again and read back', () => {
    const m = bootVm(ARGS);
    const { os } = m.guest;
    const s = os.syscalls;
    const t = os.spawn('test', 0);
    sysOk(m, s.mkfsDevice!(t, '/dev/sda'));
    sysOk(m, s.mount(t, '/dev/sda', '/mnt'));
    const data = pattern(3 * 4096 + 123, 9);
    const fd = sysOk(m, s.open(t, '/mnt/f', O_CREAT | O_WRONLY));
    const b = os.allocUser(data.length + 4096);
    m.mem.write(b.addr, data);
    expect(sysOk(m, s.write(t, fd, { addr: b.addr, len: data.length }))).toBe(data.length);
    sysOk(m, s.fsync(t, fd));
    sysOk(m, s.close(t, fd));
    sysOk(m, s.umount(t, '/mnt'));
    sysOk(m, s.mount(t, '/dev/sda', '/mnt'));
    m.mem.fill(b.addr, b.len);
    const rd = sysOk(m, s.open(t, '/mnt/f', O_RDONLY));
    expect(sysOk(m, s.read(t, rd, b))).toBe(data.length);
    expect(firstDifference(m.mem.read(b.addr, data.length), data)).toBe(-1);
    // The ext3 superblock magic is on the SCSI drive, at 1024 + 56.
    const img = image(m, 's0', 4096);
    expect([img[1024 + 56], img[1024 + 57]]).toEqual([0x53, 0xef]);
  });
});

describe('hot-plug and /dev', () => {
  it('device_add makes /dev/sdc appear once the guest has scanned; device_del makes it go', () => {
    const m = bootVm(ARGS);
    const added = deviceAdd(m, 'scsi-hd,bus=scsi0.0,scsi-id=5,drive=h0,id=hot');
    if (E.isLeft(added)) throw new Error(hotplugErrorMessage(added.left));
    m.sim.run({ stop: () => m.guest.os.devices.has('/dev/sdc'), until: m.sim.now + 1e9 });
    expect(guestDisk(m.guest, '/dev/sdc')?.bdev.capacitySectors).toBe((2 * MiB) / 512);
    expect(E.isRight(deviceDel(m, 'hot'))).toBe(true);
    m.sim.run({ stop: () => !m.guest.os.devices.has('/dev/sdc'), until: m.sim.now + 1e9 });
    expect([...m.guest.os.devices.keys()]).toEqual(['/dev/vda', '/dev/sda', '/dev/sdb']);
  });

  it('I/O in flight to a removed disk, and after, fails; nothing hangs and the other disks go on', () => {
    const m = bootVm(ARGS);
    let done = 0;
    let removed = false;
    const ios: JobIo[] = Array.from({ length: 200 }, (_, i) => ({ op: i % 3 === 0 ? 'read' : 'write', offset: (i % 512) * 4096, bytes: 4096 }));
    const r = runJobs(m, [{ ...DEFAULT_JOB, name: 'gone', filename: '/dev/sdb', iodepth: 16 }, { ...DEFAULT_JOB, name: 'stays', filename: '/dev/sda', iodepth: 4 }], {
      ios: (job) => listIos(job.name === 'gone' ? ios : ios.slice(0, 50)),
      hooks: {
        completed: (io, _status) => {
          if (++done === 40 && !removed) {
            removed = true;
            const del = deviceDel(m, 'hd1');
            if (E.isLeft(del)) throw new Error(hotplugErrorMessage(del.left));
          }
          expect(io.bytes).toBe(4096);
        },
      },
      maxVirtualNs: 600e9,
    });
    if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
    const [gone, stays] = r.right.jobs.sort((a, b) => a.name.localeCompare(b.name));
    expect(gone.ios).toBe(200);
    expect(gone.errors).toBeGreaterThan(0);
    expect(gone.errors).toBeLessThan(200);
    expect(stays).toEqual({ name: 'stays', ios: 50, errors: 0 });
    expect(m.guest.os.devices.has('/dev/sdb')).toBe(false);
  });
});
