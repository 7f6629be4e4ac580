import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB } from '../workload/index.js';
import { chromeTrace, renderTimeline } from './timeline.js';

function recordedRun() {
  const spec = parseQemuArgs(['-m', '256M', '-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M', '-device', 'virtio-blk-pci,drive=d0']);
  if (E.isLeft(spec)) throw new Error('spec');
  const m = startMachine(spec.right, { seed: 2, record: true });
  if (E.isLeft(m)) throw new Error('boot');
  const r = runJobs(m.right, [{ ...DEFAULT_JOB, iodepth: 1, numberIos: 3, ioSize: 3 * 4096 }]);
  if (E.isLeft(r)) throw new Error('run');
  return m.right.recorder!.events;
}

describe('timeline', () => {
  it('renders every event of a run in time order, one line each', () => {
    const events = recordedRun();
    const text = renderTimeline(events, { withWork: true });
    const lines = text.split('\n');
    expect(lines).toHaveLength(events.length);
    const times = lines.map((l) => l.trim().split(' ')[0]);
    expect(times.every((t) => t.startsWith('+'))).toBe(true);
    expect(text).toContain('EXIT    EPT_MISCONFIG (notify)');
    expect(text).toContain('complete write: ok');
  });

  it('exports Chrome trace-event JSON: complete events for work and exits, named tracks', () => {
    const events = recordedRun();
    const t = chromeTrace(events) as { traceEvents: { ph: string; name: string; ts: number; dur?: number; tid: number; args?: { name?: string } }[] };
    const work = t.traceEvents.filter((e) => e.ph === 'X');
    expect(work.length).toBe(events.filter((e) => e.kind === 'work' || e.kind === 'exit').length);
    expect(work.every((e) => typeof e.dur === 'number' && e.dur >= 0)).toBe(true);
    const names = t.traceEvents.filter((e) => e.ph === 'M').map((e) => e.args?.name);
    expect(names).toContain('vcpu0');
    expect(names).toContain('main-loop');
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });
});
