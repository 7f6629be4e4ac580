/**
 * BAR 4 of a modern virtio-pci device, QEMU's layout (virtio_pci_realize): a 16 KiB
 * 64-bit prefetchable memory BAR holding four 4 KiB regions:
 *
 *   0x0000 common cfg  (purpose 'config')   struct virtio_pci_common_cfg
 *   0x1000 ISR         (purpose 'isr')      read-to-clear, de-asserts INTx
 *   0x2000 device cfg  (purpose 'config')   the device model's config space
 *   0x3000 notify      (purpose 'notify')   doorbell of queue n at 0x3000 + 4·n
 *
 * Each region decodes accesses of 1..4 bytes (QEMU's impl.max_access_size = 4); an
 * 8-byte access is split into two, low dword first, as QEMU's memory API does. A
 * doorbell write that reaches this region (ioeventfd off, or not yet assigned) is a
 * heavyweight exit handled here on the vCPU thread under the BQL.
 */
import type { AccessSize } from '../../../hw/cpu.js';
import type { ExitPurpose } from '../../../sim/trace.js';
import type { IoRegionOps } from '../../kvm-exits/address-space.js';
import { allOnes } from '../pci/pci-bus.js';
import { VIRTIO_QUEUE_MAX } from './caps.js';
import { readCommonCfg, writeCommonCfg, type CommonCfgTarget } from './common-cfg.js';

/** What the BAR's regions reach in the transport. */
export interface ModernBarTarget extends CommonCfgTarget {
  /** ISR read: return the bits and clear them, lowering INTx. */
  readIsr(): number;
  readonly configSize: number;
  readDeviceConfig(off: number, size: 1 | 2 | 4): number;
  writeDeviceConfig(off: number, size: 1 | 2 | 4, val: number): void;
  /** A doorbell write for queue `q` (virtio_queue_notify). */
  notifyQueue(q: number): void;
}

export class ModernBar implements IoRegionOps {
  constructor(
    readonly name: string,
    private readonly t: ModernBarTarget,
  ) {}

  purpose(offset: number): ExitPurpose {
    switch (offset >>> 12) {
      case 1:
        return 'isr';
      case 3:
        return 'notify';
      default:
        return 'config';
    }
  }

  read(offset: number, size: AccessSize): number {
    if (size === 8) return this.read4(offset, 4) + this.read4(offset + 4, 4) * 2 ** 32;
    return this.read4(offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (size === 8) {
      this.write4(offset, 4, value % 2 ** 32);
      this.write4(offset + 4, 4, Math.floor(value / 2 ** 32) % 2 ** 32);
      return;
    }
    this.write4(offset, size, value);
  }

  private read4(offset: number, size: 1 | 2 | 4): number {
    const off = offset & 0xfff;
    switch (offset >>> 12) {
      case 0:
        return readCommonCfg(this.t, off, size);
      case 1:
        return this.t.readIsr();
      case 2:
        // virtio_config_modern_read*: past the device's config space reads all-ones.
        return off + size > this.t.configSize ? allOnes(size) : this.t.readDeviceConfig(off, size);
      default:
        return 0;
    }
  }

  private write4(offset: number, size: 1 | 2 | 4, value: number): void {
    const off = offset & 0xfff;
    switch (offset >>> 12) {
      case 0:
        writeCommonCfg(this.t, off, value);
        return;
      case 2:
        if (off + size <= this.t.configSize) this.t.writeDeviceConfig(off, size, value);
        return;
      case 3: {
        const q = Math.floor(off / 4);
        if (q < VIRTIO_QUEUE_MAX) this.t.notifyQueue(q);
        return;
      }
      default:
        return;
    }
  }
}
