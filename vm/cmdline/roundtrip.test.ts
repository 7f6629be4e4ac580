import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbVmSpec } from './arbitrary.js';
import { cmdlineErrorMessage } from './errors.js';
import { formatQemuArgs, formatQemuCommandLine } from './format.js';
import { parseQemuArgs } from './parse.js';
import { DRIVE, specOf } from './test-helpers.js';

describe('formatQemuArgs', () => {
  it('prints the canonical line', () => {
    const spec = specOf([
      '-smp', '4', '-m', '4096', '-object', 'iothread,id=io0', ...DRIVE,
      '-device', 'virtio-blk-pci,drive=d0,iothread=io0,num-queues=4,queue-size=512,serial=a,,b',
    ]);
    expect(formatQemuArgs(spec)).toEqual([
      '-m', '4G', '-smp', '4', '-accel', 'kvm', '-object', 'iothread,id=io0',
      '-drive', 'if=none,id=d0,file=disk.img,format=raw',
      '-device', 'virtio-blk-pci,drive=d0,num-queues=4,queue-size=512,serial=a,,b,iothread=io0',
    ]);
    expect(formatQemuCommandLine(spec)).toBe(
      'qemu-system-x86_64 -m 4G -smp 4 -accel kvm -object iothread,id=io0 -drive if=none,id=d0,file=disk.img,format=raw ' +
        '-device virtio-blk-pci,drive=d0,num-queues=4,queue-size=512,serial=a,,b,iothread=io0',
    );
  });

  it('prints non-default KVM knobs', () => {
    const spec = specOf(['-accel', 'kvm,x-apicv=off,x-halt-poll-ns=0', '-cpu', 'host,-kvm-pv-eoi']);
    expect(formatQemuArgs(spec)).toEqual(['-m', '128M', '-smp', '1', '-accel', 'kvm,x-apicv=off,x-halt-poll-ns=0', '-cpu', 'host,kvm-pv-eoi=off']);
  });
});

describe('round trip', () => {
  it('parse(format(spec)) equals spec for random valid specs', () => {
    fc.assert(
      fc.property(arbVmSpec(), (spec) => {
        const back = parseQemuArgs(formatQemuArgs(spec));
        if (E.isLeft(back)) throw new Error(`${cmdlineErrorMessage(back.left)}\n${formatQemuArgs(spec).join(' ')}`);
        // structuredClone: fast-check builds records without a prototype; the values must match exactly.
        expect(back.right).toStrictEqual(structuredClone(spec));
      }),
      { numRuns: 300 },
    );
  });

  it('format is a fixed point after one parse', () => {
    fc.assert(
      fc.property(arbVmSpec(), (spec) => {
        const once = formatQemuArgs(spec);
        const again = parseQemuArgs(once);
        expect(E.isRight(again) && formatQemuArgs(again.right)).toEqual(once);
      }),
      { numRuns: 100 },
    );
  });
});

describe('never throws on user input', () => {
  const word = fc.oneof(
    fc.string(),
    fc.constantFrom('-m', '-smp', '-device', '-drive', '-blockdev', '-object', '-accel', '-cpu', '-machine', 'help'),
    fc.constantFrom('virtio-blk-pci,drive=d0', 'if=none,id=d0,file=x', 'iothread,id=io0', '{"driver":"raw"}', 'driver=raw,node-name=d0,file.driver=file'),
    fc.string().map((s) => `virtio-blk-pci,drive=d0,${s}`),
    fc.string().map((s) => `if=none,id=d0,${s}`),
    fc.json(),
  );
  it('returns an Either for any argv', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
        const r = parseQemuArgs(argv);
        expect(E.isLeft(r) || E.isRight(r)).toBe(true);
        if (E.isLeft(r)) expect(typeof cmdlineErrorMessage(r.left)).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});
