/**
 * blkdebug against the real one: the same rules file, the same image and the same
 * commands given to `qemu-io -t writeback -f raw blkdebug:<rules>:<image>` (qemu-utils)
 * and to iopath's `raw → blkdebug → file` behind a BlockBackend.
 * Every read and write must succeed or fail alike (with the same strerror), and the two
 * images must hold the same bytes afterwards.
 *
 * The rules are random inject-error and set-state sections over the events a raw drive
 * produces (read_aio, write_aio, flush_to_os, flush_to_disk, pwritev, pwritev_done), so
 * the config syntax, the state machine, once, sector and iotype are all compared.
 * (qemu-io prints nothing for a failed flush; its effect on the state is still compared
 * through the requests after it.)
 *
 * Writeback only: with writethrough, QEMU bumps a node's write generation after the flush
 * that emulates FUA, so that flush skips flush_to_disk at a node flushed before the
 * write; the model counts the write first (and so announces flush_to_disk). Rules on
 * flush_to_disk then fire one write apart.
 *
 * Runs: 15 (IOPATH_DEEP=1: 150). Skips, saying why, where qemu-io is not installed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockCallback } from '../host/storage/block-backend-api.js';
import { blockErrorMessage, STRERROR } from '../host/storage/errors.js';
import { createImage, openBlockGraph } from '../host/storage/open.js';
import { newBlockEnv } from '../host/storage/testing.js';
import { peersAvailable } from './peers/debian-peers.js';
import { runs } from './support/vm.js';

const enabled = peersAvailable('qemu-io');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-blkdebug-qemu-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

const SIZE = 64 * 1024;
const SECTORS = SIZE / 512;
const EVENTS = ['read_aio', 'write_aio', 'flush_to_os', 'flush_to_disk', 'pwritev', 'pwritev_done'] as const;

type Section = { group: 'inject-error' | 'set-state'; values: Record<string, string> };
type Op = { op: 'write'; sector: number; count: number; pattern: number } | { op: 'read'; sector: number; count: number } | { op: 'flush' };

const injectArb: fc.Arbitrary<Section> = fc
  .record(
    {
      event: fc.constantFrom(...EVENTS),
      state: fc.integer({ min: 0, max: 3 }).map(String),
      iotype: fc.constantFrom('read', 'write', 'flush'),
      errno: fc.constantFrom('5', '28'),
      sector: fc.integer({ min: 0, max: SECTORS - 1 }).map(String),
      once: fc.constantFrom('on', 'off'),
      immediately: fc.constantFrom('on', 'off'),
    },
    { requiredKeys: ['event'] },
  )
  .map((values) => ({ group: 'inject-error' as const, values: values as Record<string, string> }));
const setStateArb: fc.Arbitrary<Section> = fc
  .record({ event: fc.constantFrom(...EVENTS), state: fc.integer({ min: 0, max: 3 }).map(String), new_state: fc.integer({ min: 1, max: 3 }).map(String) })
  .map((values) => ({ group: 'set-state' as const, values }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('write' as const), sector: fc.nat(SECTORS - 1), count: fc.integer({ min: 1, max: 8 }), pattern: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), sector: fc.nat(SECTORS - 1), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);

const configText = (sections: readonly Section[]): string =>
  sections.map((s) => `[${s.group}]\n${Object.entries(s.values).map(([k, v]) => `${k} = "${v}"`).join('\n')}\n`).join('\n');

/** A request's range, clipped to the image. */
const range = (o: { sector: number; count: number }): [number, number] => [o.sector * 512, Math.min(o.count, SECTORS - o.sector) * 512];

/** What qemu-io printed for each read and write: 'ok' or the strerror text. */
function qemuOutcomes(out: string): string[] {
  return out
    .split('\n')
    .flatMap((l) => (/^(wrote|read) \d+\/\d+ bytes/.test(l) ? ['ok'] : /^(write|read) failed: /.test(l) ? [l.replace(/^(write|read) failed: /, '')] : []));
}

function iopathOutcomes(config: string, image: string, ops: readonly Op[]): string[] {
  const env = newBlockEnv();
  const d = openBlockGraph(env, { blockdev: { driver: 'raw', file: { driver: 'blkdebug', config, image: { driver: 'file', filename: image } } }, backend: { writeback: true } });
  if (E.isLeft(d)) throw new Error(blockErrorMessage(d.left));
  const { blk, graph } = d.right;
  const run = (submit: (cb: BlockCallback<unknown>) => void): string => {
    let res: string | undefined;
    submit((err) => (res = err ? STRERROR[err.errno] : 'ok'));
    env.sim.run({ stop: () => res !== undefined });
    return res!;
  };
  const out: string[] = [];
  try {
    for (const o of ops) {
      if (o.op === 'flush') run((cb) => blk.flush(cb));
      else if (o.op === 'read') out.push(run((cb) => blk.read(...range(o), cb)));
      else {
        const [off, len] = range(o);
        out.push(run((cb) => blk.write(off, new Uint8Array(len).fill(o.pattern), {}, cb)));
      }
    }
  } finally {
    graph.close();
  }
  return out;
}

describe.skipIf(!enabled)('interop: blkdebug rules files behave as in qemu-io', () => {
  it('the same reads and writes fail, with the same errors, and the images end equal', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(injectArb, setStateArb), { minLength: 1, maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 12 }), (sections, ops) => {
        const dir = path.join(tmp, String(seq++));
        fs.mkdirSync(dir);
        const config = path.join(dir, 'rules.conf');
        fs.writeFileSync(config, configText(sections));
        const [ours, theirs] = ['ours.img', 'theirs.img'].map((n) => path.join(dir, n));
        for (const f of [ours, theirs]) if (E.isLeft(createImage('raw', f, SIZE))) throw new Error(`create ${f}`);
        const cmds = ops.flatMap((o) => {
          if (o.op === 'flush') return ['-c', 'flush'];
          const [off, len] = range(o);
          return ['-c', o.op === 'read' ? `read ${off} ${len}` : `write -P ${o.pattern} ${off} ${len}`];
        });
        // qemu-io exits 1 when its last command failed: only its output tells.
        const q = spawnSync('qemu-io', ['-t', 'writeback', '-f', 'raw', ...cmds, `blkdebug:${config}:${theirs}`], { encoding: 'utf8' });
        expect(q.status === 0 || q.status === 1, `qemu-io exited ${q.status}: ${q.stdout}${q.stderr}`).toBe(true);
        const expected = qemuOutcomes(q.stdout + q.stderr);
        const actual = iopathOutcomes(config, ours, ops);
        expect(actual, `rules:\n${configText(sections)}`).toEqual(expected);
        expect(Buffer.compare(fs.readFileSync(ours), fs.readFileSync(theirs)), 'images differ').toBe(0);
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: runs(15) },
    );
  });
});
