/**
 * Shared helpers of the cross-layer property suites: run counts (with the deep profile),
 * device knobs as a fast-check arbitrary and as a QEMU command line, booting a VM from
 * argv, reading an image back through its BlockBackend, deterministic data patterns,
 * and cutting a recorded trace to a measured window.
 *
 * Every suite derives the simulation seed from its fast-check input and passes it to
 * `startMachine`, so a counterexample (printed with fast-check's seed and path) is also a
 * reproducible simulation.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { cmdlineErrorMessage, parseQemuArgs } from '../../vm/cmdline/index.js';
import { vmErrorMessage } from '../../vm/errors.js';
import { startMachine, type Machine } from '../../vm/machine.js';
import type { TraceEvent } from '../../sim/trace.js';

/** IOPATH_DEEP=1 multiplies every suite's run count by ten. */
export const DEEP = process.env.IOPATH_DEEP === '1';

/** `base` runs, ten times as many in the deep profile. */
export function runs(base: number): number {
  return DEEP ? base * 10 : base;
}

/** The storage front end: virtio-blk-pci, or virtio-scsi-pci with one scsi-hd on its bus (/dev/sda). */
export type Frontend = 'virtio-blk' | 'virtio-scsi';

/** The virtio-blk-pci (or virtio-scsi-pci) / VM knobs the suites vary. */
export interface Knobs {
  /** Default virtio-blk. */
  frontend?: Frontend;
  smp: 1 | 2;
  numQueues: 1 | 2;
  queueSize: 16 | 32 | 64 | 128 | 256;
  eventIdx: boolean;
  indirect: boolean;
  ioeventfd: boolean;
  /** MSI-X with the default vector count (num-queues + 1); false: vectors=0, INTx. */
  msix: boolean;
  iothread: boolean;
}

/** Random knobs; an iothread needs ioeventfd (QEMU refuses the other combination). */
export const knobsArb: fc.Arbitrary<Knobs> = fc
  .record({
    smp: fc.constantFrom<1 | 2>(1, 2),
    numQueues: fc.constantFrom<1 | 2>(1, 2),
    queueSize: fc.constantFrom<16 | 32 | 64 | 128 | 256>(16, 32, 64, 128, 256),
    eventIdx: fc.boolean(),
    indirect: fc.boolean(),
    ioeventfd: fc.boolean(),
    msix: fc.boolean(),
    iothread: fc.boolean(),
  })
  .map((k) => (k.iothread ? { ...k, ioeventfd: true } : k));

const onOff = (b: boolean): string => (b ? 'on' : 'off');

/** The `-device virtio-blk-pci,...` text for these knobs. */
export function deviceArg(k: Knobs, drive = 'd0'): string {
  const props = [
    `virtio-blk-pci,drive=${drive},id=vblk0`,
    `num-queues=${k.numQueues}`,
    `queue-size=${k.queueSize}`,
    `event_idx=${onOff(k.eventIdx)}`,
    `indirect_desc=${onOff(k.indirect)}`,
    `ioeventfd=${onOff(k.ioeventfd)}`,
  ];
  if (!k.msix) props.push('vectors=0');
  if (k.iothread) props.push('iothread=io0');
  return props.join(',');
}

/**
 * The `-device virtio-scsi-pci,...` text for the same knobs (QEMU's names: num_queues,
 * virtqueue_size), and the scsi-hd over `drive` on its bus at 0:0:0.
 */
export function scsiDeviceArgs(k: Knobs, drive = 'd0'): string[] {
  const props = [
    'virtio-scsi-pci,id=scsi0',
    `num_queues=${k.numQueues}`,
    `virtqueue_size=${k.queueSize}`,
    `event_idx=${onOff(k.eventIdx)}`,
    `indirect_desc=${onOff(k.indirect)}`,
    `ioeventfd=${onOff(k.ioeventfd)}`,
  ];
  if (!k.msix) props.push('vectors=0');
  if (k.iothread) props.push('iothread=io0');
  return ['-device', props.join(','), '-device', `scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=${drive},id=hd0`];
}

/** The -device arguments of the knobs' front end. */
export function frontendArgs(k: Knobs, drive = 'd0'): string[] {
  return k.frontend === 'virtio-scsi' ? scsiDeviceArgs(k, drive) : ['-device', deviceArg(k, drive)];
}

/** The guest's disk the front end gives: /dev/vda or /dev/sda. */
export const guestDiskOf = (k: Knobs): string => (k.frontend === 'virtio-scsi' ? '/dev/sda' : '/dev/vda');

/** A whole QEMU command line: RAM, vCPUs, the iothread if wanted, one drive, its front end. */
export function vmArgs(k: Knobs, driveArg: string): string[] {
  return ['-m', '256M', '-smp', String(k.smp), ...(k.iothread ? ['-object', 'iothread,id=io0'] : []), '-drive', driveArg, ...frontendArgs(k)];
}

/** Parse argv and boot; a refused command line or a failed boot is a test failure with QEMU's message. */
export function boot(args: readonly string[], opts: { seed: number; record?: boolean }): Machine {
  const spec = parseQemuArgs([...args]);
  if (E.isLeft(spec)) throw new Error(`${args.join(' ')}: ${cmdlineErrorMessage(spec.left)}`);
  const m = startMachine(spec.right, opts);
  if (E.isLeft(m)) throw new Error(`${args.join(' ')}: ${vmErrorMessage(m.left)}`);
  return m.right;
}

/** Read [offset, offset+bytes) of drive `id` through its BlockBackend, running the clock until it completes. */
export function readBack(m: Machine, id: string, offset: number, bytes: number): Uint8Array {
  const drive = m.host.drives.get(id);
  if (!drive) throw new Error(`no drive ${id}`);
  let res: { err: string | null; data?: Uint8Array } | undefined;
  drive.blk.read(offset, bytes, (err, data) => {
    // The backend reuses read buffers: copy before anything else runs.
    res = { err: err ? `${err.errno}: ${err.message}` : null, data: data ? Uint8Array.from(data) : undefined };
  });
  m.sim.run({ stop: () => res !== undefined });
  if (!res) throw new Error(`read of drive ${id} never completed`);
  if (res.err !== null) throw new Error(`read of drive ${id} failed: ${res.err}`);
  return res.data!;
}

/** Fill `buf` with bytes from a xorshift32 stream seeded by `seed` (never all zeroes). */
export function fillPattern(buf: Uint8Array, seed: number): Uint8Array {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** The first index where a and b differ (-1 when equal; the shorter length when one is a prefix). */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, n), Buffer.from(b.buffer, b.byteOffset, n)) === 0) return a.length === b.length ? -1 : n;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * The events of measured window number `which` (0 = the first `runJobs`), in emission
 * order: strictly between its `run` and `done` phase events, as `Metrics` counts them.
 */
export function windowEvents(events: readonly TraceEvent[], which = 0): TraceEvent[] {
  let seen = -1;
  let start = -1;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.kind !== 'phase') continue;
    if (e.name === 'run' && ++seen === which) start = i;
    else if (e.name === 'done' && start >= 0) return events.slice(start + 1, i);
  }
  throw new Error(`no complete measured window #${which} in the trace`);
}
