/**
 * The MSI-X table and PBA as QEMU MMIO regions (hw/pci/msix.c msix_table_mmio_ops,
 * msix_pba_mmio_ops) inside the exclusive MSI-X BAR. Every access is a heavyweight exit
 * with purpose 'msix'.
 *
 * Accesses are 4 bytes (an 8-byte access is split low dword first, as QEMU's memory
 * API does); 1- and 2-byte accesses are invalid and read 0 / are dropped. The PBA is
 * read-only; the holes of the BAR read 0.
 */
import type { AccessSize } from '../../../hw/cpu.js';
import type { MsixState } from '../../../hw/pci/msix.js';
import type { IoRegionOps } from '../../kvm-exits/address-space.js';

export function msixBarOps(name: string, msix: MsixState): IoRegionOps {
  const read4 = (off: number): number => {
    if (off < msix.tableOffset + msix.tableSize && off >= msix.tableOffset) return msix.tableRead(off - msix.tableOffset);
    if (off >= msix.pbaOffset) return msix.pbaRead(off - msix.pbaOffset);
    return 0;
  };
  const write4 = (off: number, v: number): void => {
    if (off >= msix.tableOffset && off < msix.tableOffset + msix.tableSize) msix.tableWrite(off - msix.tableOffset, v >>> 0);
  };
  return {
    name,
    purpose: () => 'msix',
    read(offset: number, size: AccessSize): number {
      if (size === 4) return read4(offset);
      if (size === 8) return read4(offset) + read4(offset + 4) * 2 ** 32;
      return 0;
    },
    write(offset: number, size: AccessSize, value: number): void {
      if (size === 4) write4(offset, value % 2 ** 32);
      else if (size === 8) {
        write4(offset, value % 2 ** 32);
        write4(offset + 4, Math.floor(value / 2 ** 32) % 2 ** 32);
      }
    },
  };
}
