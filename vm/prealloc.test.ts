import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR } from '../guest/vfs/syscalls-api.js';
import { pattern } from '../guest/vfs/testing.js';
import { parseQemuArgs } from './cmdline/index.js';
import { vmErrorMessage } from './errors.js';
import { startMachine, type Machine } from './machine.js';
import { sysOk } from './run-sys.js';
import { bootVm } from './testing.js';

const DISK = ['-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=16M', '-device', 'virtio-blk-pci,drive=d0'];

/** mkfs, mount, write 1 MiB into a file, fsync, read it back: what the guest read. */
function workload(m: Machine): Uint8Array {
  const os = m.guest.os;
  const s = os.syscalls;
  const t = os.spawn('writer', 0);
  sysOk(m, s.mkfsDevice(t, '/dev/vda'));
  sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
  const fd = sysOk(m, s.open(t, '/mnt/f', O_CREAT | O_RDWR));
  const b = os.allocUser(1 << 18);
  m.mem.write(b.addr, pattern(1 << 18, 3));
  sysOk(m, s.write(t, fd, { addr: b.addr, len: 1 << 18 }));
  sysOk(m, s.fsync(t, fd));
  m.mem.fill(b.addr, 1 << 18, 0);
  expect(sysOk(m, s.pread(t, fd, { addr: b.addr, len: 1 << 18 }, 0))).toBe(1 << 18);
  return m.mem.read(b.addr, 1 << 18);
}

describe('-mem-prealloc', () => {
  it('commits host memory for all of guest RAM before the guest runs; the guest runs exactly as without it', () => {
    const pre = bootVm(['-m', '64M', '-mem-prealloc', ...DISK]);
    const plain = bootVm(['-m', '64M', ...DISK]);
    expect(pre.mem.preallocatedBytes).toBe(64 * 2 ** 20);
    expect(plain.mem.preallocatedBytes).toBe(0);
    expect(workload(pre)).toEqual(pattern(1 << 18, 3));
    expect(workload(plain)).toEqual(pattern(1 << 18, 3));
    // Host memory, not guest time: the same seed gives the same trace.
    const events = (m: Machine) => m.recorder!.events.map((e) => JSON.stringify(e)).join('\n');
    expect(pre.recorder!.events.length).toBeGreaterThan(1000);
    expect(events(pre) === events(plain)).toBe(true);
  });

  it("more RAM than the host has free is refused with QEMU's words, not attempted", () => {
    const spec = parseQemuArgs(['-m', '1P', '-mem-prealloc']);
    if (E.isLeft(spec)) throw new Error('does not parse');
    const m = startMachine(spec.right);
    if (E.isRight(m)) throw new Error('booted');
    expect(m.left._tag).toBe('Prealloc');
    expect(vmErrorMessage(m.left)).toMatch(
      /^qemu_prealloc_mem: preallocating memory failed: Cannot allocate memory \(-mem-prealloc of 1125899906842624 bytes of guest RAM; the host has \d+ bytes free\)$/,
    );
  });
});
