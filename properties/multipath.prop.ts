/**
 * Multipath failover end to end: a VM with two virtio-scsi HBAs, each with a scsi-hd on
 * the same -blockdev node (share-rw=on on both, one WWN; each device with a BlockBackend
 * of its own), the guest's multipathd grouping sda and sdb into mpatha, and random reads
 * and writes on the map from several guest tasks. At a random instant under load one
 * path's link is cut (vm/paths.ts), optionally restored later.
 *
 * Properties: every I/O completes well (the other path carries on, nothing waits for
 * ever); every read returns the data last acknowledged for its block; every write
 * acknowledged to the workload is on the image afterwards (read back through the drive's
 * BlockBackend); the cut path is failed, and the map completed I/O after the cut.
 *
 * And through a file system: ext3 made and mounted on /dev/mapper/mpatha, files written
 * and fsynced while a path is cut at a random instant; after a remount every file reads
 * back as written, and the image passes fsck.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { BlkStatus } from '../guest/blockdev/request.js';
import { readBio, writeBio } from '../guest/blockdev/bio.js';
import { Task } from '../guest/kernel/task.js';
import type { PathSelectorName } from '../guest/dm-multipath/selectors.js';
import { fsckImage } from '../guest/fs/index.js';
import { cmdlineErrorMessage, parseQemuArgs } from '../vm/cmdline/index.js';
import { sysOk } from '../vm/run-sys.js';
import { vmErrorMessage } from '../vm/errors.js';
import { startMachine, type Machine } from '../vm/machine.js';
import { cutPath, pathErrorMessage, restorePath, startMultipathd, withSecondPath } from '../vm/paths.js';
import { readGuestFile, writeGuestFile } from '../vm/testing.js';
import { fillPattern, firstDiff, readBack, runs } from './support/vm.js';

const BS = 4096;
const BLOCKS = 32;

const ARGS = [
  '-m', '256M', '-smp', '2',
  '-blockdev', 'driver=raw,node-name=lun0,file.driver=memory,file.size=16M',
  '-device', 'virtio-scsi-pci,id=scsi0',
  '-device', 'virtio-scsi-pci,id=scsi1',
  '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=path0,wwn=0x5000c50015ea71ac',
];

function machine(seed: number): Machine {
  const spec = parseQemuArgs(ARGS);
  if (E.isLeft(spec)) throw new Error(cmdlineErrorMessage(spec.left));
  const two = withSecondPath(spec.right, 'path0', 'scsi1.0', 'path1');
  if (E.isLeft(two)) throw new Error(pathErrorMessage(two.left));
  const m = startMachine(two.right, { seed });
  if (E.isLeft(m)) throw new Error(vmErrorMessage(m.left));
  return m.right;
}

interface Op {
  write: boolean;
  block: number;
}

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  ops: fc.array(fc.record({ write: fc.boolean(), block: fc.integer({ min: 0, max: BLOCKS - 1 }) }), { minLength: 20, maxLength: 60 }),
  depth: fc.integer({ min: 1, max: 8 }),
  cutAtNs: fc.integer({ min: 0, max: 150_000 }),
  cut: fc.constantFrom('path0', 'path1'),
  restoreAfterNs: fc.option(fc.integer({ min: 1e9, max: 6e9 }), { nil: undefined }),
  selector: fc.constantFrom<PathSelectorName>('round-robin', 'service-time'),
});

describe('dm-multipath over two virtio-scsi HBAs', () => {
  it('cutting a path under load loses no acknowledged write, reads stay correct, I/O goes on', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const m = machine(s.seed);
        const mpd = startMultipathd(m, { noPathRetry: 'queue', selector: s.selector, pollingIntervalNs: 1e9 });
        const map = [...mpd.maps.values()][0];
        expect(map?.paths.map((p) => p.name)).toEqual(['sda', 'sdb']);
        const { kernel } = m.guest;
        const tasks = kernel.cpus.map((c, i) => new Task(300 + i, `mpio${i}`, c));
        const acked = new Map<number, Uint8Array>();
        const busy = new Set<number>();
        const statuses: BlkStatus[] = [];
        const badReads: string[] = [];
        let next = 0;
        let inflight = 0;
        let cutAt = Infinity;
        let doneAfterCut = 0;
        const issue = (): void => {
          while (inflight < s.depth && next < s.ops.length && !busy.has(s.ops[next].block)) {
            const op: Op = s.ops[next];
            const task = tasks[next % tasks.length];
            const data = op.write ? fillPattern(new Uint8Array(BS), s.seed + next) : undefined;
            next++;
            inflight++;
            busy.add(op.block);
            task.run('io', () => {
              const buf = m.guest.user.alloc(BS, BS);
              if (data) kernel.mem.write(buf, data);
              const sg = [{ addr: buf, len: BS }];
              const sector = (op.block * BS) / 512;
              map.submitBioCb(task, data ? writeBio(sector, sg) : readBio(sector, sg), (st) => {
                statuses.push(st);
                if (m.sim.now >= cutAt) doneAfterCut++;
                if (st === 'ok' && data) acked.set(op.block, data);
                if (st === 'ok' && !data) {
                  const want = acked.get(op.block) ?? new Uint8Array(BS);
                  const got = kernel.mem.read(buf, BS);
                  const at = firstDiff(got, want);
                  if (at >= 0) badReads.push(`block ${op.block} differs at byte ${at}`);
                }
                m.guest.user.free(buf, BS, BS);
                busy.delete(op.block);
                inflight--;
                issue();
              });
            });
          }
        };
        const t0 = m.sim.now;
        m.sim.at(t0 + s.cutAtNs, () => {
          cutAt = m.sim.now;
          const r = cutPath(m, s.cut);
          if (E.isLeft(r)) throw new Error(pathErrorMessage(r.left));
          if (s.restoreAfterNs !== undefined) m.sim.after(s.restoreAfterNs, () => void restorePath(m, s.cut));
        });
        issue();
        m.sim.run({ stop: () => statuses.length === s.ops.length && m.sim.now > cutAt, until: t0 + 60e9 });
        // A restored link: the checker's next rounds find the path up and reinstate it.
        if (s.restoreAfterNs !== undefined) m.sim.run({ until: cutAt + s.restoreAfterNs + 2.5e9 });
        mpd.stop();
        expect(statuses.length).toBe(s.ops.length);
        expect(statuses.filter((x) => x !== 'ok')).toEqual([]);
        expect(badReads).toEqual([]);
        for (const [block, data] of acked) expect(firstDiff(readBack(m, 'lun0', block * BS, BS), data)).toBe(-1);
        const cutDisk = s.cut === 'path0' ? 'sda' : 'sdb';
        const other = map.paths.find((p) => p.name !== cutDisk)!;
        // The cut path failed if anything went its way after the cut; the other one never did.
        expect(other.state).toBe('active');
        expect(other.failCount).toBe(0);
        if (s.restoreAfterNs !== undefined) expect(map.paths.map((p) => p.state)).toEqual(['active', 'active']);
        if (statuses.length > doneAfterCut && doneAfterCut > 0) expect(other.completed).toBeGreaterThan(0);
      }),
      { numRuns: runs(12) },
    );
  });
});

const FS_BYTES = 32 << 20;
const FS_ARGS = [
  '-m', '256M', '-smp', '2',
  '-blockdev', `driver=raw,node-name=lun0,file.driver=memory,file.size=${FS_BYTES}`,
  '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1',
  '-device', 'scsi-hd,bus=scsi0.0,drive=lun0,id=path0,wwn=0x5000c50015ea71ac,share-rw=on',
  '-device', 'scsi-hd,bus=scsi1.0,drive=lun0,id=path1,wwn=0x5000c50015ea71ac,share-rw=on',
];

const fsScenario = fc.record({
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  files: fc.array(fc.integer({ min: 1, max: 96 * 1024 }), { minLength: 2, maxLength: 6 }),
  // Writing the files takes 0.1–0.6 ms of virtual time: the cut lands among them or in the remount's reads.
  cutAtNs: fc.integer({ min: 0, max: 600_000 }),
  cut: fc.constantFrom('path0', 'path1'),
  selector: fc.constantFrom<PathSelectorName>('round-robin', 'service-time'),
});

describe('a file system on /dev/mapper/mpatha', () => {
  it('files written while a path is cut read back as written after a remount; the image is clean', () => {
    fc.assert(
      fc.property(fsScenario, (s) => {
        const spec = parseQemuArgs(FS_ARGS);
        if (E.isLeft(spec)) throw new Error(cmdlineErrorMessage(spec.left));
        const booted = startMachine(spec.right, { seed: s.seed });
        if (E.isLeft(booted)) throw new Error(vmErrorMessage(booted.left));
        const m = booted.right;
        const mpd = startMultipathd(m, { noPathRetry: 'queue', selector: s.selector, pollingIntervalNs: 1e9 });
        const { os } = m.guest;
        const sys = os.syscalls;
        const t = os.spawn('fsjob', 0);
        sysOk(m, sys.mkfsDevice!(t, '/dev/mapper/mpatha'));
        sysOk(m, sys.mount(t, '/dev/mapper/mpatha', '/mnt'));
        m.sim.at(m.sim.now + s.cutAtNs, () => {
          const r = cutPath(m, s.cut);
          if (E.isLeft(r)) throw new Error(pathErrorMessage(r.left));
        });
        const files = s.files.map((n, i) => ({ path: `/mnt/f${i}`, data: fillPattern(new Uint8Array(n), s.seed + i) }));
        for (const f of files) writeGuestFile(m, t, f.path, f.data);
        sysOk(m, sys.umount(t, '/mnt'));
        sysOk(m, sys.mount(t, '/dev/mapper/mpatha', '/mnt'));
        for (const f of files) expect(firstDiff(readGuestFile(m, t, f.path, f.data.length), f.data)).toBe(-1);
        sysOk(m, sys.umount(t, '/mnt'));
        mpd.stop();
        const map = [...mpd.maps.values()][0];
        const other = map.paths.find((p) => p.name !== (s.cut === 'path0' ? 'sda' : 'sdb'))!;
        expect([other.state, other.failCount]).toEqual(['active', 0]);
        expect(fsckImage(readBack(m, 'lun0', 0, FS_BYTES)).findings).toEqual([]);
      }),
      { numRuns: runs(4) },
    );
  });
});
