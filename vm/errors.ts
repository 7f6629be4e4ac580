/** What can go wrong building or booting a VM, each with its message. */
import { blockErrorMessage, type BlockError } from '../host/storage/index.js';

export type VmError =
  | { _tag: 'Storage'; drive: string; error: BlockError }
  | { _tag: 'Device'; dev: string; message: string }
  | { _tag: 'NoSuchDrive'; dev: string; drive: string }
  | { _tag: 'NoSuchIothread'; dev: string; iothread: string }
  | { _tag: 'GuestProbe'; dev: string; message: string }
  /** -mem-prealloc of more RAM than the host has free. */
  | { _tag: 'Prealloc'; bytes: number; freeBytes: number }
  | { _tag: 'Workload'; message: string };

export function vmErrorMessage(e: VmError): string {
  switch (e._tag) {
    case 'Storage':
      return `drive '${e.drive}': ${blockErrorMessage(e.error)}`;
    case 'Device':
      return `-device ${e.dev}: ${e.message}`;
    case 'NoSuchDrive':
      return `-device ${e.dev}: Property 'drive' can't find value '${e.drive}'`;
    case 'NoSuchIothread':
      return `-device ${e.dev}: Could not find iothread '${e.iothread}'`;
    case 'GuestProbe':
      return `guest: probing ${e.dev} failed: ${e.message}`;
    case 'Prealloc':
      // QEMU 7.2's words (util/oslib-posix.c, qemu_prealloc_mem: MADV_POPULATE_WRITE failing with ENOMEM), then the figures.
      return `qemu_prealloc_mem: preallocating memory failed: Cannot allocate memory (-mem-prealloc of ${e.bytes} bytes of guest RAM; the host has ${e.freeBytes} bytes free)`;
    case 'Workload':
      return `workload: ${e.message}`;
  }
}
