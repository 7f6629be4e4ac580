/**
 * `npm run bench`: the performance figures of iopath, as ratios and sizes measured in
 * this run (never asserted in tests).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchMemory } from './memory.js';
import { FILE_BENCH_VM_ARGS, benchFileWrites } from './file-writes.js';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { benchFormatMemory, benchFormats } from './formats.js';
import { benchThroughput } from './throughput.js';
import { benchScsiThroughput, type ScsiThroughputResult } from './scsi-throughput.js';
import { DEFAULT_JOB } from '../workload/index.js';

const GiB = 1024 ** 3;

if (process.argv[2] === '--memory-child') {
  process.stdout.write(JSON.stringify(benchMemory(Number(process.argv[3] ?? GiB))) + '\n');
} else if (process.argv[2] === '--format-memory-child') {
  process.stdout.write(JSON.stringify(benchFormatMemory(Number(process.argv[3]), Number(process.argv[4])) ?? null) + '\n');
} else {
  const ios = Number(process.env.IOPATH_BENCH_IOS ?? 200_000);
  const t = benchThroughput(ios);
  console.log('Throughput (raw over memory, 4 KiB random writes, iodepth 32, whole path):');
  console.log(`  simulated I/Os: ${t.ios} in ${t.wallMs.toFixed(0)} ms wall → ${Math.round(t.simIosPerSec).toLocaleString('en-US')} I/Os per second`);
  console.log(`  Uint8Array.set of the same 4 KiB blocks to the same offsets in a ${(DEFAULT_JOB.size! / 2 ** 20).toFixed(0)} MiB buffer: ${Math.round(t.copiesPerSec).toLocaleString('en-US')} copies per second`);
  console.log(`  (into a cache-hot 256 KiB window instead: ${Math.round(t.hotCopiesPerSec).toLocaleString('en-US')} copies per second; ratio against it ${(t.simIosPerSec / t.hotCopiesPerSec).toFixed(3)})`);
  console.log(`  per CPU-second of this process: ${Math.round(t.simIosPerCpuSec).toLocaleString('en-US')} I/Os against ${Math.round(t.copiesPerCpuSec).toLocaleString('en-US')} copies, ratio ${(t.simIosPerCpuSec / t.copiesPerCpuSec).toFixed(3)}`);
  console.log(`  ratio: ${t.ratio.toFixed(3)} (target ≥ 0.10), the median of ${t.ratios.length} paired rounds (${t.ratios.map((r) => r.toFixed(3)).join(', ')}; the figures above are the median round's)    [modelled guest IOPS: ${Math.round(t.virtualIops).toLocaleString('en-US')}]`);
  const sc = benchScsiThroughput(Number(process.env.IOPATH_BENCH_SCSI_IOS ?? ios));
  const rate = (r: ScsiThroughputResult['blk']): string =>
    `${r.ios} I/Os in ${r.wallMs.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU → ${Math.round(r.simIosPerSec).toLocaleString('en-US')} per second, ${Math.round(r.simIosPerCpuSec).toLocaleString('en-US')} per CPU-second [modelled guest IOPS ${Math.round(r.virtualIops).toLocaleString('en-US')}]`;
  console.log(`virtio-scsi beside virtio-blk (4 KiB random writes, iodepth 32, same image; ${sc.rounds} rounds of paired runs, each run in a process of its own; each front end's median run):`);
  console.log(`  virtio-blk  /dev/vda: ${rate(sc.blk)}`);
  console.log(`  virtio-scsi /dev/sda: ${rate(sc.scsi)}`);
  console.log(`  ratio: ${sc.ratio.toFixed(3)} of virtio-blk per CPU-second (median of the rounds' ratios; lowest ${sc.spread.min.toFixed(3)}, highest ${sc.spread.max.toFixed(3)}), ${sc.wallRatio.toFixed(3)} per wall-clock second (target ≥ 0.8)`);
  printFileWrites(t.simIosPerSec, t.simIosPerCpuSec);
  const bytes = Number(process.env.IOPATH_BENCH_MEMORY_BYTES ?? GiB);
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', String(bytes)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) {
    console.log(`Memory benchmark failed: ${child.stderr}`);
    process.exit(1);
  }
  const m = JSON.parse(child.stdout.trim().split('\n').pop()!);
  console.log('Memory (1 TiB RAM, 1 TiB raw-over-memory disk, sequential 4 KiB writes, iodepth 32):');
  console.log(`  wrote ${(m.bytesWritten / GiB).toFixed(2)} GiB in ${(m.wallMs / 1000).toFixed(1)} s wall; resident ${(m.rssBytes / GiB).toFixed(2)} GiB (target < 1.5 GiB), heap ${(m.heapUsedBytes / GiB).toFixed(2)} GiB, guest pages touched ${m.guestPagesTouched}`);
  printFormats();
}

/** Issue 3's figures: buffered writes through the page cache, beside the spine's rate. */
function printFileWrites(spineRate: number, spinePerCpu: number): void {
  const writes = Number(process.env.IOPATH_BENCH_FILE_WRITES ?? 100_000);
  const fw = benchFileWrites(writes);
  const plain = benchFileWrites(writes, DEFAULT_VM_ARGS);
  // The same file on a guest with less memory than the file: the cache must reclaim to stay within it.
  const small = benchFileWrites(writes, [...FILE_BENCH_VM_ARGS, '-m', '256M'], 1);
  const MiB = 1024 * 1024;
  const wb = fw.writtenBack;
  console.log(`Buffered file writes (4 KiB pwrite, psync, into /mnt/bench on ext3; page cache writeback to virtio-blk; the default VM with ${FILE_BENCH_VM_ARGS.slice(DEFAULT_VM_ARGS.length).join(' ')}):`);
  console.log(`  system calls: ${fw.syscalls.toLocaleString('en-US')} in ${fw.wallMs.toFixed(0)} ms wall → ${Math.round(fw.syscallsPerSec).toLocaleString('en-US')} per second (the median of 3 runs, each on a fresh machine)`);
  console.log(`  raw block spine (above): ${Math.round(spineRate).toLocaleString('en-US')} I/Os per second; ratio ${(fw.syscallsPerSec / spineRate).toFixed(3)} (target ≥ 0.5)`);
  console.log(`  per CPU-second: ${Math.round(fw.syscallsPerCpuSec).toLocaleString('en-US')} system calls against the spine's ${Math.round(spinePerCpu).toLocaleString('en-US')} I/Os, ratio ${(fw.syscallsPerCpuSec / spinePerCpu).toFixed(3)}`);
  console.log(`  written back during the window: ${(wb.periodic + wb.background + wb.sync + wb.vmscan).toLocaleString('en-US')} pages (background ${wb.background}, periodic ${wb.periodic}, sync ${wb.sync}, vmscan ${wb.vmscan}); ${fw.throttles} writer throttles; ${(fw.virtualNs / 1e6).toFixed(1)} ms of virtual time`);
  console.log(`  page cache peak: ${(fw.peakCacheBytes / MiB).toFixed(1)} MiB of ${(fw.guestMemBytes / MiB).toFixed(0)} MiB guest memory ${fw.peakCacheBytes <= fw.guestMemBytes ? '(within it)' : '(EXCEEDS IT)'}`);
  const swb = small.writtenBack;
  console.log(
    `  on a 256 MiB guest (the ${((writes * 4096) / MiB).toFixed(0)} MiB file does not fit): page cache peak ${(small.peakCacheBytes / MiB).toFixed(1)} MiB of ${(small.guestMemBytes / MiB).toFixed(0)} MiB ${small.peakCacheBytes <= small.guestMemBytes ? '(within it)' : '(EXCEEDS IT)'}; ` +
      `${small.reclaimed.toLocaleString('en-US')} pages reclaimed, ${(swb.periodic + swb.background + swb.sync + swb.vmscan).toLocaleString('en-US')} written back (vmscan ${swb.vmscan}), ${small.throttles} writer throttles; ${Math.round(small.syscallsPerSec).toLocaleString('en-US')} system calls per second`,
  );
  console.log(
    `  without -mem-prealloc (the host commits each new page-cache page inside the window): ${Math.round(plain.syscallsPerSec).toLocaleString('en-US')} per second, ratio ${(plain.syscallsPerSec / spineRate).toFixed(3)}; ` +
      `per CPU-second ${Math.round(plain.syscallsPerCpuSec).toLocaleString('en-US')}, ratio ${(plain.syscallsPerCpuSec / spinePerCpu).toFixed(3)}`,
  );
}

/** Issue 4's figures: format drivers directly, and the qcow2 caches' bound on memory. */
function printFormats(): void {
  const f = benchFormats(Number(process.env.IOPATH_BENCH_FORMAT_WRITES ?? 100_000));
  const raw = f.rates[0].writesPerSec;
  const rawDurable = f.rates[0].durablePerSec;
  console.log(`Format drivers directly (4 KiB random writes over a ${(f.imageBytes / 2 ** 20).toFixed(0)} MiB image, host file with cache.direct=on, on tmpfs if there is one):`);
  for (const r of f.rates) {
    const target = r.name.includes('fully') ? ' (target ≥ 0.7)' : r.name.startsWith('qcow2') && r.name.includes('fresh') ? ' (target ≥ 0.3)' : '';
    console.log(
      `  ${r.name.padEnd(30)} ${Math.round(r.writesPerSec).toLocaleString('en-US').padStart(10)} writes per second; ${(r.writesPerSec / raw).toFixed(2)} of raw${target}` +
        `; with the final flush ${Math.round(r.durablePerSec).toLocaleString('en-US')}/s, ${(r.durablePerSec / rawDurable).toFixed(2)} of raw`,
    );
  }
  if (f.rates.length === 1) console.log('  (qcow2 is not registered: no qcow2 figures)');
  const qFresh = f.rates.find((r) => r.name.startsWith('qcow2') && r.name.includes('fresh'));
  const rFresh = f.rates.find((r) => r.name.startsWith('raw, fresh'));
  if (qFresh && rFresh) console.log(`  qcow2 fresh beside raw fresh (the same writes into never-written storage): ${(qFresh.writesPerSec / rFresh.writesPerSec).toFixed(2)}`);
  const writes = Number(process.env.IOPATH_BENCH_FORMAT_MEMORY_WRITES ?? 50_000);
  for (const size of [GiB, 2 ** 40]) {
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--format-memory-child', String(size), String(writes)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) {
      console.log(`Format memory benchmark failed: ${child.stderr}`);
      process.exit(1);
    }
    const m = JSON.parse(child.stdout.trim().split('\n').pop()!);
    if (m) console.log(`  qcow2 of ${(m.imageBytes / GiB).toFixed(0).padStart(4)} GiB after ${m.writes.toLocaleString('en-US')} random 4 KiB writes across it (flush every 1000): resident ${(m.rssBytes / 2 ** 20).toFixed(0)} MiB, heap ${(m.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`);
  }
}
