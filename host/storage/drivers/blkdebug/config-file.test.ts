import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseBlkdebugConfig } from './config-file.js';
import { buildRules } from './rules.js';

const left = <T>(r: E.Either<string, T>): string => (E.isLeft(r) ? r.left : 'ok');

/** Parse a config and build its rules; the message of the first error, or the rules. */
function rules(text: string) {
  return E.flatMap(parseBlkdebugConfig('bd.conf', text), (sections) => buildRules('bd.conf', sections, [], []));
}

describe('blkdebug config file (qemu_config_parse syntax)', () => {
  it('reads sections, quoted values, comments and blank lines into typed rules', () => {
    const text = [
      '# first L2 load fails once',
      '[inject-error]',
      'event = "l2_load"',
      'errno = "28"',
      'sector = "8"',
      'once = "on"',
      '',
      '[set-state]',
      'event="l2_load"',
      'state = "1"',
      'new_state = "2"',
      '[inject-error "second"]',
      '  event = "write_aio"',
      '  iotype = "write"',
      '  immediately = "on"',
    ].join('\n');
    const r = rules(text);
    if (E.isLeft(r)) throw new Error(r.left);
    expect(r.right).toHaveLength(3);
    const [a, b, c] = r.right;
    expect(a).toMatchObject({ action: 'inject-error', event: 'l2_load', error: 'ENOSPC', offset: 4096, once: true, immediately: false, state: 0 });
    expect(a.action === 'inject-error' && [...a.iotypes]).toEqual(['read', 'write', 'write-zeroes', 'discard', 'flush']);
    expect(b).toMatchObject({ action: 'inject-error', event: 'write_aio', error: 'EIO', offset: -1, immediately: true });
    expect(b.action === 'inject-error' && [...b.iotypes]).toEqual(['write']);
    // set-state rules come after every inject-error rule, as QEMU adds them.
    expect(c).toEqual({ action: 'set-state', event: 'l2_load', state: 1, newState: 2 });
  });

  it.each([
    ['[inject-error]\nevent = "l2_load"\nfoo = "1"', "bd.conf:3: Invalid parameter 'foo'"],
    ['[no-such]\nevent = "l2_load"', "bd.conf:1: There is no option group 'no-such'"],
    ['event = "l2_load"', 'bd.conf:1: no group defined'],
    ['[inject-error]\nevent = l2_load', 'bd.conf:2: parse error'],
    ['[set-state]\nevent = "l2_load"\nnew_state = "2"\nerrno = "5"', "bd.conf:4: Invalid parameter 'errno'"],
  ])('refuses %j: %s', (text, message) => {
    expect(left(rules(text))).toBe(message);
  });

  it.each([
    ['[inject-error]\nevent = "l2_load"\n\nerrno = "five"', /^bd\.conf:4: Parameter 'errno' expects 0 or one of 5 \(EIO\)/],
    ['[inject-error]\nevent = "l2_load"\nerrno = "7"', /^bd\.conf:3: Parameter 'errno' expects/],
    ['[inject-error]\nevent = "l2_lod"', /^bd\.conf:2: Parameter 'event' expects a blkdebug event .*got "l2_lod"/],
    ['[inject-error]\nevent = "l2_load"\nonce = "maybe"', /^bd\.conf:3: Parameter 'once' expects 'on' or 'off'/],
    ['[inject-error]\nevent = "l2_load"\niotype = "trim"', /^bd\.conf:3: Parameter 'iotype' expects one of read, write/],
    ['[inject-error]\nevent = "l2_load"\nsector = "-1"', /^bd\.conf:3: Parameter 'sector' expects a number/],
    ['[inject-error]\nevent = "l2_load"\nsector = "99999999999999999"', /^bd\.conf:3: Parameter 'sector' expects a number from 0 to/],
    ['[set-state]\nstate = "1"', /^bd\.conf:1: Missing event name for rule$/],
    ['[set-state]\nevent = "none"\nnew_state = "4294967296"', /^bd\.conf:3: Parameter 'new_state' expects a number from 0 to 2147483647/],
  ])('names the line and key of a bad value: %j', (text, message) => {
    expect(left(rules(text))).toMatch(message);
  });

  it('names the list element of a bad blockdev rule', () => {
    const r = buildRules(undefined, [], [{ event: 'write_aio' }, { event: 'write_aio', errno: 'x' }], []);
    expect(left(r)).toMatch(/^inject-error\.1: Parameter 'errno' expects/);
    expect(left(buildRules(undefined, [], [], [{ event: 'none', colour: 'red' }]))).toBe("set-state.0: Invalid parameter 'colour'");
  });

  it('takes typed JSON values and errno names in blockdev rules', () => {
    const r = buildRules(undefined, [], [{ event: 'flush_to_disk', errno: 'ENOSPC', once: true, state: 3, sector: 2 }], []);
    if (E.isLeft(r)) throw new Error(r.left);
    expect(r.right[0]).toMatchObject({ error: 'ENOSPC', once: true, state: 3, offset: 1024 });
    const zero = buildRules(undefined, [], [{ event: 'none', errno: 0 }], []);
    expect(E.isRight(zero) && zero.right[0]).toMatchObject({ error: null });
  });
});
