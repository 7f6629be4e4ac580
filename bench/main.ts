/**
 * `npm run bench`: the performance figures of iopath, as ratios and sizes measured in
 * this run (never asserted in tests).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchMemory } from './memory.js';
import { benchFileWrites } from './file-writes.js';
import { benchThroughput } from './throughput.js';

const GiB = 1024 ** 3;

if (process.argv[2] === '--memory-child') {
  process.stdout.write(JSON.stringify(benchMemory(Number(process.argv[3] ?? GiB))) + '\n');
} else {
  const ios = Number(process.env.IOPATH_BENCH_IOS ?? 200_000);
  const t = benchThroughput(ios);
  console.log('Throughput (raw over memory, 4 KiB random writes, iodepth 32, whole path):');
  console.log(`  simulated I/Os: ${t.ios} in ${t.wallMs.toFixed(0)} ms wall → ${Math.round(t.simIosPerSec).toLocaleString('en-US')} I/Os per second`);
  console.log(`  Uint8Array.set of 4 KiB: ${Math.round(t.copiesPerSec).toLocaleString('en-US')} copies per second`);
  console.log(`  ratio: ${t.ratio.toFixed(3)} (target ≥ 0.10)    [modelled guest IOPS: ${Math.round(t.virtualIops).toLocaleString('en-US')}]`);
  const fw = benchFileWrites(Number(process.env.IOPATH_BENCH_FILE_WRITES ?? 100_000));
  const MiB = 1024 * 1024;
  const wb = fw.writtenBack;
  console.log('Buffered file writes (4 KiB pwrite, psync, into /mnt/bench on ext3; page cache writeback to virtio-blk):');
  console.log(`  system calls: ${fw.syscalls.toLocaleString('en-US')} in ${fw.wallMs.toFixed(0)} ms wall → ${Math.round(fw.syscallsPerSec).toLocaleString('en-US')} per second`);
  console.log(`  raw block spine (above): ${Math.round(t.simIosPerSec).toLocaleString('en-US')} I/Os per second; ratio ${(fw.syscallsPerSec / t.simIosPerSec).toFixed(3)} (target ≥ 0.5)`);
  console.log(`  written back during the window: ${(wb.periodic + wb.background + wb.sync + wb.vmscan).toLocaleString('en-US')} pages (background ${wb.background}, periodic ${wb.periodic}, sync ${wb.sync}, vmscan ${wb.vmscan}); ${fw.throttles} writer throttles; ${(fw.virtualNs / 1e6).toFixed(1)} ms of virtual time`);
  console.log(`  page cache peak: ${(fw.peakCacheBytes / MiB).toFixed(1)} MiB of ${(fw.guestMemBytes / MiB).toFixed(0)} MiB guest memory ${fw.peakCacheBytes <= fw.guestMemBytes ? '(within it)' : '(EXCEEDS IT)'}`);
  const bytes = Number(process.env.IOPATH_BENCH_MEMORY_BYTES ?? GiB);
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', String(bytes)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) {
    console.log(`Memory benchmark failed: ${child.stderr}`);
    process.exit(1);
  }
  const m = JSON.parse(child.stdout.trim().split('\n').pop()!);
  console.log('Memory (1 TiB RAM, 1 TiB raw-over-memory disk, sequential 4 KiB writes, iodepth 32):');
  console.log(`  wrote ${(m.bytesWritten / GiB).toFixed(2)} GiB in ${(m.wallMs / 1000).toFixed(1)} s wall; resident ${(m.rssBytes / GiB).toFixed(2)} GiB (target < 1.5 GiB), heap ${(m.heapUsedBytes / GiB).toFixed(2)} GiB, guest pages touched ${m.guestPagesTouched}`);
}
