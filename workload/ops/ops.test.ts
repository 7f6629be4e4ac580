import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { startProc } from '../proc.js';
import { FakeOs } from '../testing.js';
import { formatOp, opErrorMessage, parseOps, type Op } from './parse.js';
import { patternByte, runOps, type OpResult } from './run.js';

const ops = (text: string): Op[] => {
  const r = parseOps(text);
  if (E.isLeft(r)) throw new Error(opErrorMessage(r.left));
  return r.right;
};
const err = (text: string): string => {
  const r = parseOps(text);
  if (E.isRight(r)) throw new Error('expected an error');
  return opErrorMessage(r.left);
};

describe('the op language', () => {
  it('parses every op, with fio sizes and times, and prints it back', () => {
    const text =
      'open /mnt/f direct dsync; create /mnt/g; write /mnt/f 4k@8k; read /mnt/f 512@0; fsync /mnt/f; fdatasync /mnt/f\n' +
      'truncate /mnt/f 1m; unlink /mnt/g; mkdir /mnt/d; rmdir /mnt/d; rename /mnt/f /mnt/h; stat /mnt/h; readdir /mnt\n' +
      'sync; drop_caches; drop_caches 1; sleep 5s; sleep 250ms; close /mnt/h';
    const parsed = ops(text);
    expect(parsed[2]).toEqual({ op: 'write', path: '/mnt/f', len: 4096, offset: 8192 });
    expect(parsed[16]).toEqual({ op: 'sleep', ns: 5e9 });
    expect(parsed.map(formatOp).join('; ')).toBe(
      'open /mnt/f direct dsync; create /mnt/g; write /mnt/f 4096@8192; read /mnt/f 512@0; fsync /mnt/f; fdatasync /mnt/f; ' +
        'truncate /mnt/f 1048576; unlink /mnt/g; mkdir /mnt/d; rmdir /mnt/d; rename /mnt/f /mnt/h; stat /mnt/h; readdir /mnt; ' +
        'sync; drop_caches 3; drop_caches 1; sleep 5s; sleep 250ms; close /mnt/h',
    );
    expect(ops(parsed.map(formatOp).join(';'))).toEqual(parsed);
  });
  it('names the bad op by number and text, and says what was expected', () => {
    expect(err('write /mnt/f 4096@0; wirte /mnt/f 1@0')).toMatch(/^op 2 'wirte \/mnt\/f 1@0': unknown operation 'wirte' \(expected one of open, create,/);
    expect(err('write /mnt/f 4096')).toBe("op 1 'write /mnt/f 4096': '4096' is not LEN@OFF (sizes like 4096, 4k, 1m; LEN > 0); usage: write PATH LEN@OFF");
    expect(err('sync; fsync')).toBe("op 2 'fsync': expected 1 argument, got 0; usage: fsync PATH");
    expect(err('unlink mnt/f')).toBe("op 1 'unlink mnt/f': expected an absolute PATH; usage: unlink PATH");
    expect(err('open /mnt/f odirect')).toBe("op 1 'open /mnt/f odirect': unknown open flag 'odirect'; usage: open PATH [direct|sync|dsync|append]…");
    expect(err('sleep soon')).toMatch(/'soon' is not a time/);
    expect(err('drop_caches 4')).toMatch(/'4' is not 1, 2 or 3/);
    expect(err(' ; ')).toBe("op 0 ';': no operations given");
  });
});

describe('running an op list on a fake OS', () => {
  function run(text: string, os = new FakeOs()): { os: FakeOs; res: OpResult[] } {
    let res: OpResult[] | undefined;
    startProc(os.tk.sim, runOps({ sim: os.tk.sim, mem: os.mem, os }, os.spawn('ops'), ops(text)), (r) => (res = r));
    os.settle();
    if (!res) throw new Error('ops never finished');
    return { os, res };
  }
  it('one call per op, in order; data ops open their file once', () => {
    const { os, res } = run('write /mnt/f 8@4; read /mnt/f 16@0; fsync /mnt/f; rename /mnt/f /mnt/g; sleep 1ms; stat /mnt/g; unlink /mnt/nope');
    expect(os.log).toEqual(['open /mnt/f', 'pwrite 3 8@4', 'pread 3 16@0', 'fsync 3', 'rename /mnt/f /mnt/g', 'stat /mnt/g', 'unlink /mnt/nope']);
    expect(res.map((r) => r.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ENOENT']);
    expect(res[1].detail).toBe('12 bytes');
    expect(Array.from(os.files.get('/mnt/g')!)).toEqual([0, 0, 0, 0, ...Array.from({ length: 8 }, (_, i) => patternByte(4 + i))]);
    expect(res[4].endedAt - res[4].startedAt).toBe(1e6);
    for (let i = 1; i < res.length; i++) expect(res[i].startedAt).toBeGreaterThanOrEqual(res[i - 1].endedAt);
  });
  it('announces each op in the trace', () => {
    const { os } = run('mkdir /mnt/d; sync');
    const notes = os.tk.rec.events.filter((e) => e.kind === 'note').map((e) => (e.kind === 'note' ? e.text : ''));
    expect(notes).toEqual([]);
    const os2 = new FakeOs();
    startProc(os2.tk.sim, runOps({ sim: os2.tk.sim, mem: os2.mem, os: os2, trace: os2.tk.trace }, os2.spawn('ops'), ops('mkdir /mnt/d; mkdir /mnt/d')), () => undefined);
    os2.settle();
    expect(os2.tk.rec.events.flatMap((e) => (e.kind === 'note' ? [e.text] : []))).toEqual([
      '1: mkdir /mnt/d', '1: mkdir /mnt/d → ok', '2: mkdir /mnt/d', '2: mkdir /mnt/d → EEXIST',
    ]);
  });
});
