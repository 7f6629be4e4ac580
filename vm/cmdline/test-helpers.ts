/** Shared helpers for the command-line tests. */
import * as E from 'fp-ts/lib/Either.js';
import type { VirtioBlkPciSpec, VmSpec } from '../spec.js';
import { cmdlineErrorMessage, type CmdlineError } from './errors.js';
import { parseQemuArgs } from './parse.js';

/** The spec, or a test failure naming the error. */
export function specOf(argv: readonly string[]): VmSpec {
  const r = parseQemuArgs(argv);
  if (E.isLeft(r)) throw new Error(`expected a spec, got: ${cmdlineErrorMessage(r.left)}`);
  return r.right;
}

/** The error, or a test failure. */
export function errorOf(argv: readonly string[]): CmdlineError {
  const r = parseQemuArgs(argv);
  if (E.isRight(r)) throw new Error(`expected an error for ${JSON.stringify(argv)}`);
  return r.left;
}

/** The message QEMU would print for this command line. */
export function messageOf(argv: readonly string[]): string {
  return cmdlineErrorMessage(errorOf(argv));
}

/** A drive for devices to use. */
export const DRIVE = ['-drive', 'file=disk.img,if=none,id=d0,format=raw'];

/** The spec of a command line whose devices are all virtio-blk-pci (a test failure otherwise). */
export function blkSpecOf(argv: readonly string[]): Omit<VmSpec, 'devices'> & { devices: VirtioBlkPciSpec[] } {
  const s = specOf(argv);
  const other = s.devices.find((d) => d.driver !== 'virtio-blk-pci');
  if (other) throw new Error(`expected only virtio-blk-pci devices, got ${other.driver}`);
  return { ...s, devices: s.devices as VirtioBlkPciSpec[] };
}
