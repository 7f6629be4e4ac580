/** What can go wrong building or booting a VM, each with its message. */
import { blockErrorMessage, type BlockError } from '../host/storage/index.js';

export type VmError =
  | { _tag: 'Storage'; drive: string; error: BlockError }
  | { _tag: 'Device'; dev: string; message: string }
  | { _tag: 'NoSuchDrive'; dev: string; drive: string }
  | { _tag: 'NoSuchIothread'; dev: string; iothread: string }
  | { _tag: 'GuestProbe'; dev: string; message: string }
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
    case 'Workload':
      return `workload: ${e.message}`;
  }
}
