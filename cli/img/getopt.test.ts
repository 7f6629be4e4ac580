import { describe, expect, it } from 'vitest';
import { Getopt, type GetoptResult, type LongOpt } from './getopt.js';

const LONG: LongOpt[] = [
  { name: 'output', arg: 'required', key: 'output' },
  { name: 'object', arg: 'required', key: 'object' },
  { name: 'backing-chain', arg: 'none', key: 'backing-chain' },
];

function all(argv: string[], short = 'f:hU'): { results: GetoptResult[]; operands: string[] } {
  const g = new Getopt(argv, short, LONG);
  const results: GetoptResult[] = [];
  for (let r = g.next(); r; r = g.next()) results.push(r);
  return { results, operands: g.operands() };
}

describe('Getopt (glibc getopt_long, as qemu-img calls it)', () => {
  it('takes options after operands and keeps the operands in order (PERMUTE)', () => {
    const r = all(['info', 'a.img', '--output=json', 'b.img', '-f', 'raw']);
    expect(r.results).toEqual([
      { kind: 'opt', key: 'output', arg: 'json' },
      { kind: 'opt', key: 'f', arg: 'raw' },
    ]);
    expect(r.operands).toEqual(['a.img', 'b.img']);
  });

  it('reads clustered and attached short options, and --opt value', () => {
    const r = all(['info', '-Uf', 'raw', '-fqcow2', '--output', 'human', 'x']);
    expect(r.results.map((x) => (x.kind === 'opt' ? `${x.key}=${x.arg ?? ''}` : x.kind))).toEqual(['U=', 'f=raw', 'f=qcow2', 'output=human']);
    expect(r.operands).toEqual(['x']);
  });

  it('stops at -- and treats what follows as operands', () => {
    expect(all(['create', '-f', 'raw', '--', '-x.raw', '1M']).operands).toEqual(['-x.raw', '1M']);
  });

  it('resolves an unambiguous prefix and refuses an ambiguous one', () => {
    expect(all(['info', '--out=json', 'a']).results).toEqual([{ kind: 'opt', key: 'output', arg: 'json' }]);
    expect(all(['info', '--o=json', 'a']).results).toEqual([{ kind: 'unrecognized', culprit: '--o=json' }]);
    expect(all(['info', '--backing-chain=1', 'a']).results).toEqual([{ kind: 'unrecognized', culprit: '--backing-chain=1' }]);
  });

  it("names the culprit as qemu-img does (argv[optind - 1])", () => {
    expect(all(['info', '-Z', 'a']).results[0]).toEqual({ kind: 'unrecognized', culprit: '-Z' });
    // An unknown letter inside a cluster leaves optind on it: the element before is named.
    expect(all(['info', '-qZ', 'a']).results[0]).toEqual({ kind: 'unrecognized', culprit: 'info' });
    expect(all(['info', 'a', '-qZ']).results[0]).toEqual({ kind: 'unrecognized', culprit: 'a' });
    expect(all(['map', 'a', '-f']).results[0]).toEqual({ kind: 'missing', culprit: '-f' });
    expect(all(['map', '--output']).results[0]).toEqual({ kind: 'missing', culprit: '--output' });
  });
});
