/**
 * Durability through the guest block layer: what the layer reports durable is on stable
 * storage when the host loses power. Random waves of writes (some REQ_FUA, some
 * REQ_PREFLUSH) and flushes go from guest tasks (sometimes under a plug) through
 * guest/blockdev (plug, merge, mq-deadline or none, flush sequencing), the virtio-blk
 * driver and QEMU's virtio-blk into a memory drive, under the cache modes that keep
 * flushes honest (writeback and none: the guest sees a volatile write cache;
 * writethrough and directsync: it sees none). At a random moment — possibly with I/O
 * in flight — or right after a wave, the host's BlockBackend power-cuts, and the image
 * is read back.
 *
 * A write is guaranteed durable when it completed and
 * - the guest saw no volatile write cache (every completed write is stable), or
 * - it carried FUA, or
 * - a flush (an empty PREFLUSH bio, or the PREFLUSH of a later write) was submitted
 *   after it completed and has itself completed.
 * Then each sector must hold the data of its last guaranteed-durable write, or of a
 * write to it submitted later (which may or may not have survived). A sector with no
 * guaranteed-durable write holds zeroes or the data of some write to it.
 *
 * Writes in flight together never overlap (Linux does not order them); a wave starts
 * when the previous one has completed, and may end with an fsync-like flush. Runs: 60; IOPATH_DEEP=1 gives 600.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Task } from '../guest/kernel/task.js';
import { flushBio, writeBio, type Bio } from '../guest/blockdev/bio.js';
import { virtblkBlockDevice } from '../guest/virtio-drivers/virtio-blk-bdev.js';
import { boot, fillPattern, readBack, runs } from './support/vm.js';

const SECTORS = 2048;
const SECTOR = 512;

const bioArb = fc.record({
  kind: fc.constantFrom('write', 'write', 'write', 'write', 'write', 'write', 'write', 'flush'),
  start: fc.nat(SECTORS - 1),
  len: fc.integer({ min: 1, max: 64 }),
  fua: fc.boolean(),
  preflush: fc.boolean(),
  task: fc.nat(1),
});

const scenarioArb = fc.record({
  cache: fc.constantFrom('writeback', 'none', 'writethrough', 'directsync'),
  smp: fc.constantFrom(1, 2),
  numQueues: fc.constantFrom(1, 2),
  scheduler: fc.constantFrom<'none' | 'mq-deadline'>('none', 'mq-deadline'),
  waves: fc.array(fc.record({ bios: fc.array(bioArb, { minLength: 1, maxLength: 10 }), plug: fc.boolean(), fsync: fc.boolean() }), { minLength: 1, maxLength: 6 }),
  /** Cut after this fraction of the bios completed (possibly mid-wave), or right after wave `afterWave` (and its fsync). */
  cut: fc.oneof(fc.record({ fraction: fc.double({ min: 0, max: 1, noNaN: true }) }), fc.record({ afterWave: fc.nat(5) })),
  seed: fc.nat(),
});

/** Submission and completion are stamped with a logical clock: the order the simulation ran them in (local times of different contexts may interleave under temporal decoupling). */
interface Tracked {
  bio: Bio;
  id: number;
  submitted: number;
  completed?: number;
  data?: Uint8Array;
}

describe('guest block layer durability across a host power cut', () => {
  it('every write the layer reported durable (FUA, or covered by a completed flush) survives', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const args = ['-m', '128M', '-smp', String(sc.smp), '-drive', `if=none,id=d0,driver=memory,size=${SECTORS * SECTOR},cache=${sc.cache}`, '-device', `virtio-blk-pci,drive=d0,num-queues=${sc.numQueues}`];
        const m = boot(args, { seed: sc.seed });
        const k = m.guest.kernel;
        const dev = virtblkBlockDevice(k, m.guest.disks[0], { scheduler: sc.scheduler });
        const tasks = k.cpus.map((c, i) => new Task(10 + i, `w${i}`, c));
        const all: Tracked[] = [];
        const total = sc.waves.reduce((n, w) => n + w.bios.length + (w.fsync ? 1 : 0), 0);
        const cutAfter = 'fraction' in sc.cut ? Math.floor(sc.cut.fraction * total) : Infinity;
        const lastWave = 'afterWave' in sc.cut ? sc.cut.afterWave : Infinity;
        let completions = 0;
        let ids = 0;
        let clock = 0;
        for (const [wi, wave] of sc.waves.entries()) {
          if (completions >= cutAfter || wi > lastWave) break;
          const taken: [number, number][] = [];
          const mine: Tracked[][] = tasks.map(() => []);
          for (const g of wave.bios) {
            const task = g.task % tasks.length;
            if (g.kind === 'flush') {
              mine[task].push({ bio: flushBio(), id: ids++, submitted: -1 });
              continue;
            }
            const len = Math.min(g.len, SECTORS - g.start);
            if (taken.some(([s, e]) => g.start < e && s < g.start + len)) continue;
            taken.push([g.start, g.start + len]);
            const id = ids++;
            const data = fillPattern(new Uint8Array(len * SECTOR), sc.seed * 7919 + id + 1);
            const addr = m.guest.user.alloc(len * SECTOR, 4096);
            m.mem.write(addr, data);
            mine[task].push({ bio: writeBio(g.start, [{ addr, len: len * SECTOR }], { fua: g.fua, preflush: g.preflush }), id, submitted: -1, data });
          }
          let pending = 0;
          for (const [i, list] of mine.entries()) {
            if (list.length === 0) continue;
            const task = tasks[i];
            pending += list.length;
            task.run('writer', () => {
              if (wave.plug) dev.startPlug(task);
              for (const t of list) {
                t.submitted = clock++;
                all.push(t);
                dev.submitBio(task, t.bio).subscribe((st) => {
                  expect(st).toBe('ok');
                  t.completed = clock++;
                  completions++;
                  pending--;
                });
              }
              if (wave.plug) dev.finishPlug(task);
            });
          }
          m.sim.run({ stop: () => pending === 0 || completions >= cutAfter });
          if (!wave.fsync || completions >= cutAfter) continue;
          // fsync: a flush once the wave's writes have completed.
          const f: Tracked = { bio: flushBio(), id: ids++, submitted: -1 };
          all.push(f);
          let synced = false;
          tasks[0].run('fsync', () => {
            f.submitted = clock++;
            dev.submitBio(tasks[0], f.bio).subscribe(() => {
              f.completed = clock++;
              completions++;
              synced = true;
            });
          });
          m.sim.run({ stop: () => synced || completions >= cutAfter });
        }
        m.host.drives.get('d0')!.blk.powerCut();
        const image = readBack(m, 'd0', 0, SECTORS * SECTOR);

        const volatile = dev.limits.writeCache;
        const flushes = all.filter((t) => (t.bio.op === 'flush' || t.bio.preflush) && t.completed !== undefined);
        const durable = (w: Tracked): boolean =>
          w.completed !== undefined && (!volatile || w.bio.fua === true || flushes.some((f) => f !== w && f.submitted >= w.completed!));
        const writes = all.filter((t) => t.data !== undefined).sort((a, b) => a.submitted - b.submitted);
        for (let s = 0; s < SECTORS; s++) {
          const got = image.subarray(s * SECTOR, (s + 1) * SECTOR);
          const mineS = writes.filter((w) => w.bio.sector <= s && s < w.bio.sector + w.bio.sectors);
          const sectorOf = (w: Tracked) => w.data!.subarray((s - w.bio.sector) * SECTOR, (s - w.bio.sector + 1) * SECTOR);
          let last = -1;
          mineS.forEach((w, i) => {
            if (durable(w)) last = i;
          });
          const allowed = (last >= 0 ? mineS.slice(last) : mineS).map(sectorOf);
          if (last < 0) allowed.push(new Uint8Array(SECTOR));
          const ok = allowed.some((a) => Buffer.compare(a, got) === 0);
          expect(ok, `sector ${s}: ${last >= 0 ? `write #${mineS[last].id} was reported durable` : 'no durable write'}, but the image holds none of the allowed contents`).toBe(true);
        }
      }),
      { numRuns: runs(60) },
    );
  });
});
