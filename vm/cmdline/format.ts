/**
 * `formatQemuArgs`: a VmSpec as a canonical QEMU command line (without the program
 * name). Canonical means: machine options first (`-m`, `-mem-prealloc` when set, `-smp`,
 * `-accel kvm`, `-cpu` only when PV EOI is off), then `-object iothread`s, the drives in order (`-drive if=none` or
 * `-blockdev` in its dotted form), then the devices in order, each property printed only
 * when it differs from its default. `parseQemuArgs(formatQemuArgs(spec))` gives `spec`
 * back for every spec `parseQemuArgs` can produce.
 */
import { DEFAULT_KVM, type DeviceSpec, type DriveSpec, type VmSpec } from '../spec.js';
import { formatBlockdev } from './blockdev.js';
import { deviceModelOf } from './devices.js';
import { formatDrive } from './drive.js';
import { formatMachine } from './machine.js';

export function formatQemuArgs(spec: VmSpec): string[] {
  const ctx = { cpus: spec.smp.cpus };
  return [
    ...formatMachine(spec.memBytes, spec.memPrealloc, spec.smp.cpus, spec.kvm, DEFAULT_KVM),
    ...spec.iothreads.flatMap((t) => ['-object', `iothread,id=${t.id}`]),
    ...spec.drives.flatMap(formatBackend),
    ...spec.devices.flatMap((d) => ['-device', formatDevice(d, ctx)]),
  ];
}

function formatBackend(d: DriveSpec): string[] {
  if (d.source === 'drive') return ['-drive', formatDrive(d)];
  if (!d.blockdev) throw new Error(`DriveSpec '${d.id}' has source 'blockdev' but no blockdev tree`);
  return ['-blockdev', formatBlockdev(d.blockdev)];
}

function formatDevice(d: DeviceSpec, ctx: { cpus: number }): string {
  const model = deviceModelOf(d);
  const head = d.id !== undefined ? [model.name, `id=${d.id}`] : [model.name];
  return [...head, ...model.format(d, ctx)].join(',');
}

/** The command line as one shell-quoted string, for messages and docs. */
export function formatQemuCommandLine(spec: VmSpec, program = 'qemu-system-x86_64'): string {
  return [program, ...formatQemuArgs(spec)].map(shellQuote).join(' ');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,=:/@+%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
