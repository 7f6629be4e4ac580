/**
 * A PCI type-0 configuration space (PCI Local Bus 3.0 §6.1), 256 bytes, little-endian,
 * with QEMU's masks (hw/pci/pci.c):
 *
 *   config   the bytes the guest reads
 *   wmask    bits the guest may write (pci_init_wmask: cache line, interrupt line, the
 *            COMMAND bits IO|MEMORY|MASTER|SERR|INTX_DISABLE, BAR address bits, and all
 *            of 0x40..0xff until a capability claims it)
 *   w1cmask  bits the guest clears by writing 1 (pci_init_w1cmask: the STATUS error bits)
 *
 * A guest write stores `(old & ~wmask) | (val & wmask)`, then clears `val & w1cmask`:
 * pci_default_write_config, byte by byte. That one rule gives BAR sizing its real
 * semantics: write all-ones, read back `~(size-1)` with the type bits.
 *
 * This file is the register file only: no side effects. Mapping BARs, INTx and MSI-X
 * follow from a write in host/devices/pci.
 *
 * Capabilities are placed as QEMU's pci_add_capability does: at the first free space
 * after the header (pci_find_space), and linked at the *head* of the list, so the last
 * capability added is the first one the guest finds.
 */
import {
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CACHE_LINE_SIZE, PCI_CAP_LIST_ID, PCI_CAP_LIST_NEXT, PCI_CAPABILITY_LIST, PCI_CLASS_DEVICE, PCI_CLASS_PROG,
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_COMMAND_SERR,
  PCI_CONFIG_HEADER_SIZE, PCI_CONFIG_SPACE_SIZE, PCI_DEVICE_ID, PCI_HEADER_TYPE, PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN, PCI_NUM_BARS, PCI_REVISION_ID, PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_STATUS_DETECTED_PARITY,
  PCI_STATUS_PARITY, PCI_STATUS_REC_MASTER_ABORT, PCI_STATUS_REC_TARGET_ABORT, PCI_STATUS_SIG_SYSTEM_ERROR,
  PCI_STATUS_SIG_TARGET_ABORT, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID
} from './constants.js';

/** What a BAR decodes: port I/O, or memory below 4 GiB, or anywhere (64-bit, two BAR slots). */
export type BarType = { space: 'io' } | { space: 'mem32'; prefetch?: boolean } | { space: 'mem64'; prefetch?: boolean };

export interface BarInfo {
  readonly size: number;
  readonly type: BarType;
}

/** The identity of a function, as the header presents it. */
export interface PciIds {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Base class and sub-class, e.g. 0x0100 (PCI_CLASS_STORAGE_SCSI). */
  classCode: number;
  progIf?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  headerType?: number;
}

/** pci_bar_address's answer for a BAR that does not decode (disabled, sizing, wrapped). */
export const PCI_BAR_UNMAPPED = -1;

/** The largest guest-physical address a BAR may reach: 2^52 (x86 MAXPHYADDR), below 2^53 so numbers stay exact. */
export const PCI_BAR_ADDR_LIMIT = 2 ** 52;

export class PciConfigSpace {
  readonly config = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  readonly wmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  readonly w1cmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Bytes a capability owns (QEMU's `used`), for placing the next one. */
  private readonly used = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  private readonly bars: (BarInfo | undefined)[] = new Array<BarInfo | undefined>(PCI_NUM_BARS).fill(undefined);
  /** BAR registers in use (a 64-bit BAR takes two). */
  private readonly slotUsed: boolean[] = new Array<boolean>(PCI_NUM_BARS).fill(false);

  constructor(ids: PciIds) {
    this.set16(PCI_VENDOR_ID, ids.vendorId);
    this.set16(PCI_DEVICE_ID, ids.deviceId);
    this.set8(PCI_REVISION_ID, ids.revision);
    this.set8(PCI_CLASS_PROG, ids.progIf ?? 0);
    this.set16(PCI_CLASS_DEVICE, ids.classCode);
    this.set8(PCI_HEADER_TYPE, ids.headerType ?? 0);
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId ?? 0);
    this.set16(PCI_SUBSYSTEM_ID, ids.subsystemId ?? 0);
    // pci_init_wmask
    this.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
    this.setMask16(this.wmask, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    this.wmask.fill(0xff, PCI_CONFIG_HEADER_SIZE);
    // pci_init_w1cmask
    this.setMask16(
      this.w1cmask,
      PCI_STATUS,
      PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY,
    );
  }

  /* ---- raw access, for the device model (no masks) ---- */

  get8(off: number): number {
    return this.config[off];
  }
  get16(off: number): number {
    return this.config[off] | (this.config[off + 1] << 8);
  }
  get32(off: number): number {
    return (this.config[off] | (this.config[off + 1] << 8) | (this.config[off + 2] << 16) | (this.config[off + 3] << 24)) >>> 0;
  }
  set8(off: number, v: number): void {
    this.config[off] = v & 0xff;
  }
  set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >>> 8) & 0xff;
  }
  set32(off: number, v: number): void {
    putLE32(this.config, off, v);
  }

  private setMask16(mask: Uint8Array, off: number, v: number): void {
    mask[off] = v & 0xff;
    mask[off + 1] = (v >>> 8) & 0xff;
  }

  get command(): number {
    return this.get16(PCI_COMMAND);
  }
  get interruptLine(): number {
    return this.config[PCI_INTERRUPT_LINE];
  }
  get interruptPin(): number {
    return this.config[PCI_INTERRUPT_PIN];
  }
  /** INTx pin: 1 = INTA# … 4 = INTD#, 0 = none. Read-only to the guest. */
  setInterruptPin(pin: 0 | 1 | 2 | 3 | 4): void {
    this.config[PCI_INTERRUPT_PIN] = pin;
  }

  /* ---- guest access (pci_default_read_config / pci_default_write_config) ---- */

  /** A guest read of `len` (1, 2 or 4) bytes; bytes past the end read as 0. */
  read(addr: number, len: number): number {
    let v = 0;
    for (let i = len - 1; i >= 0; i--) {
      const a = addr + i;
      v = v * 256 + (a >= 0 && a < PCI_CONFIG_SPACE_SIZE ? this.config[a] : 0);
    }
    return v;
  }

  /** A guest write of `len` bytes, through wmask and w1cmask. Bytes past the end are dropped. */
  write(addr: number, val: number, len: number): void {
    for (let i = 0; i < len; i++) {
      const a = addr + i;
      if (a < 0 || a >= PCI_CONFIG_SPACE_SIZE) continue;
      const b = Math.floor(val / 2 ** (8 * i)) & 0xff;
      const wm = this.wmask[a];
      let c = (this.config[a] & ~wm) | (b & wm);
      c &= ~(b & this.w1cmask[a]);
      this.config[a] = c & 0xff;
    }
  }

  /* ---- BARs (pci_register_bar / pci_bar_address) ---- */

  /**
   * Declare BAR `n` of `size` bytes (a power of two: ≥ 4 for I/O, ≥ 16 for memory). A
   * 64-bit BAR also takes slot n+1. The address bits become writable; the type bits are
   * read-only. A bad declaration is a simulator bug and throws.
   */
  registerBar(n: number, size: number, type: BarType): void {
    const io = type.space === 'io';
    const mem64 = type.space === 'mem64';
    if (!Number.isInteger(n) || n < 0 || n >= PCI_NUM_BARS || (mem64 && n === PCI_NUM_BARS - 1)) throw new Error(`pci: bad BAR number ${n}`);
    if (!isPow2(size) || size < (io ? 4 : 16) || (!mem64 && size > 2 ** 31)) {
      throw new Error(`pci: BAR ${n}: ${size} bytes is not a power of two in [${io ? 4 : 16}, ${mem64 ? '2^52' : '2^31'}]`);
    }
    if (this.slotUsed[n] || (mem64 && this.slotUsed[n + 1])) throw new Error(`pci: BAR ${n} registered twice`);
    this.bars[n] = { size, type };
    this.slotUsed[n] = true;
    if (mem64) this.slotUsed[n + 1] = true;
    let bits = io ? PCI_BASE_ADDRESS_SPACE_IO : mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0;
    if (!io && type.prefetch) bits |= PCI_BASE_ADDRESS_MEM_PREFETCH;
    const off = PCI_BASE_ADDRESS_0 + 4 * n;
    putLE32(this.config, off, bits);
    // The address bits at and above the size are writable: ~(size-1), over 64 bits for a 64-bit BAR.
    putLE32(this.wmask, off, size >= 2 ** 32 ? 0 : ~(size - 1) >>> 0);
    if (mem64) {
      putLE32(this.config, off + 4, 0);
      putLE32(this.wmask, off + 4, size > 2 ** 32 ? ~(size / 2 ** 32 - 1) >>> 0 : 0xffffffff);
    }
  }

  bar(n: number): BarInfo | undefined {
    return this.bars[n];
  }

  /**
   * Where BAR `n` decodes now, or PCI_BAR_UNMAPPED: its COMMAND enable bit is off, the
   * address is 0 or wraps (as during sizing), a 32-bit BAR reaches 4 GiB, or the address
   * is beyond the guest-physical limit. QEMU's pci_bar_address.
   */
  barAddress(n: number): number {
    const b = this.bars[n];
    if (!b) return PCI_BAR_UNMAPPED;
    const cmd = this.command;
    const off = PCI_BASE_ADDRESS_0 + 4 * n;
    const size = b.size;
    if (b.type.space === 'io') {
      if (!(cmd & PCI_COMMAND_IO)) return PCI_BAR_UNMAPPED;
      const addr = this.get32(off) - (this.get32(off) % size);
      const last = addr + size - 1;
      if (addr === 0 || last >= 0xffffffff) return PCI_BAR_UNMAPPED;
      return addr;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) return PCI_BAR_UNMAPPED;
    let raw = this.get32(off);
    if (b.type.space === 'mem64') raw += this.get32(off + 4) * 2 ** 32;
    const addr = raw - (raw % size);
    const last = addr + size - 1;
    if (addr === 0) return PCI_BAR_UNMAPPED;
    if (b.type.space === 'mem32' && last >= 0xffffffff) return PCI_BAR_UNMAPPED;
    if (last >= PCI_BAR_ADDR_LIMIT) return PCI_BAR_UNMAPPED;
    return addr;
  }

  /* ---- capabilities (pci_add_capability / pci_find_capability) ---- */

  /**
   * Add a capability of `size` bytes with ID `id`; returns its offset. The bytes become
   * read-only to the guest (the caller opens any writable field afterwards through
   * `wmask`). Running out of space is a simulator bug and throws.
   */
  addCapability(id: number, size: number): number {
    const offset = this.findSpace(size);
    if (offset === 0) throw new Error(`pci: no room for a ${size}-byte capability 0x${id.toString(16)}`);
    this.config[offset + PCI_CAP_LIST_ID] = id;
    this.config[offset + PCI_CAP_LIST_NEXT] = this.config[PCI_CAPABILITY_LIST];
    this.config[PCI_CAPABILITY_LIST] = offset;
    this.config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    this.used.fill(0xff, offset, offset + Math.ceil(size / 4) * 4);
    this.wmask.fill(0, offset, offset + size);
    return offset;
  }

  /** Offset of the first capability with `id` in list order, or 0. */
  findCapability(id: number): number {
    let off = this.config[PCI_CAPABILITY_LIST];
    for (let hops = 0; off !== 0 && hops < 64; hops++) {
      if (this.config[off + PCI_CAP_LIST_ID] === id) return off;
      off = this.config[off + PCI_CAP_LIST_NEXT];
    }
    return 0;
  }

  /** Offsets of every capability, in the order the guest walks them. */
  capabilities(): number[] {
    const out: number[] = [];
    let off = this.config[PCI_CAPABILITY_LIST];
    while (off !== 0 && out.length < 64) {
      out.push(off);
      off = this.config[off + PCI_CAP_LIST_NEXT];
    }
    return out;
  }

  private findSpace(size: number): number {
    let offset = PCI_CONFIG_HEADER_SIZE;
    for (let i = PCI_CONFIG_HEADER_SIZE; i < PCI_CONFIG_SPACE_SIZE; i++) {
      if (this.used[i]) offset = i + 1;
      else if (i - offset + 1 === size) return offset;
    }
    return 0;
  }
}

function isPow2(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && Math.log2(n) % 1 === 0;
}

function putLE32(a: Uint8Array, off: number, v: number): void {
  for (let i = 0; i < 4; i++) a[off + i] = (v >>> (8 * i)) & 0xff;
}
