/**
 * MSI-X (PCI Local Bus 3.0 §6.8.2), as QEMU's hw/pci/msix.c models it.
 *
 * Capability (12 bytes): +0 id 0x11, +1 next, +2 le16 Message Control (bits 10:0 table
 * size − 1, bit 14 Function Mask, bit 15 MSI-X Enable; only the top two are writable),
 * +4 le32 Table Offset | BIR, +8 le32 PBA Offset | BIR.
 *
 * Table: one 16-byte entry per vector: +0 le32 address low, +4 le32 address high,
 * +8 le32 data, +12 le32 vector control (bit 0 = masked). Every vector starts masked.
 * PBA: one pending bit per vector, in le64 words.
 *
 * A vector fires only when MSI-X is enabled, the function is not masked and the vector
 * is not masked; otherwise its pending bit is set, and the message goes out when the
 * mask is lifted (msix_handle_mask_update). A vector must also be "in use"
 * (msix_vector_use) for the device to fire it: virtio-pci declares the vectors the
 * driver assigned.
 *
 * QEMU's exclusive MSI-X BAR (msix_init_exclusive_bar): 4 KiB, table at 0, PBA at 2 KiB
 * (further out, and the BAR larger, when the table does not fit in 2 KiB).
 */
import type { PciConfigSpace } from './config-space.js';
import {
  PCI_CAP_ID_MSIX,
  PCI_MSIX_CAP_SIZE,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_DATA,
  PCI_MSIX_ENTRY_LOWER_ADDR,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_UPPER_ADDR,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
} from './constants.js';

export const MSIX_EXCLUSIVE_BAR_SIZE = 4096;
export const MSIX_EXCLUSIVE_BAR_PBA_OFFSET = MSIX_EXCLUSIVE_BAR_SIZE / 2;
export const MSIX_MAX_VECTORS = PCI_MSIX_FLAGS_QSIZE + 1;

/** Message Control's writable byte (the high byte of the flags word). */
const CONTROL_BYTE = PCI_MSIX_FLAGS + 1;
const ENABLE = PCI_MSIX_FLAGS_ENABLE >> 8;
const MASKALL = PCI_MSIX_FLAGS_MASKALL >> 8;

/** Where an MSI-X message goes once it may be sent. */
export interface MsixSink {
  /** Send the message (a DWORD write of `data` to `addr`) for `vector`. */
  send(addr: number, data: number, vector: number): void;
  /** MSI-X was enabled: INTx must be de-asserted (pci_device_deassert_intx). */
  deassertIntx(): void;
}

/** Layout of the exclusive BAR for `n` vectors: table at 0, PBA after it, BAR size a power of two. */
export function msixExclusiveLayout(n: number): { tableOffset: number; pbaOffset: number; pbaSize: number; barSize: number } {
  const tableSize = n * PCI_MSIX_ENTRY_SIZE;
  const pbaOffset = Math.max(MSIX_EXCLUSIVE_BAR_PBA_OFFSET, tableSize);
  const pbaSize = Math.ceil(n / 64) * 8;
  let barSize = MSIX_EXCLUSIVE_BAR_SIZE;
  while (barSize < pbaOffset + pbaSize) barSize *= 2;
  return { tableOffset: 0, pbaOffset, pbaSize, barSize };
}

export class MsixState {
  /** Offset of the capability in config space. */
  readonly cap: number;
  readonly table: Uint8Array;
  readonly pba: Uint8Array;
  private readonly useCount: Uint32Array;
  private fmasked = true;

  /** Add the capability for `nentries` vectors (1..2048) whose table and PBA live in `bar`. */
  constructor(
    private readonly cfg: PciConfigSpace,
    readonly nentries: number,
    readonly bar: number,
    readonly tableOffset: number,
    readonly pbaOffset: number,
    private readonly sink: MsixSink,
  ) {
    if (!Number.isInteger(nentries) || nentries < 1 || nentries > MSIX_MAX_VECTORS) throw new Error(`msix: bad vector count ${nentries}`);
    this.cap = cfg.addCapability(PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE);
    cfg.set16(this.cap + PCI_MSIX_FLAGS, nentries - 1);
    cfg.set32(this.cap + PCI_MSIX_TABLE, (tableOffset | bar) >>> 0);
    cfg.set32(this.cap + PCI_MSIX_PBA, (pbaOffset | bar) >>> 0);
    cfg.wmask[this.cap + CONTROL_BYTE] |= ENABLE | MASKALL;
    this.table = new Uint8Array(nentries * PCI_MSIX_ENTRY_SIZE);
    this.pba = new Uint8Array(Math.ceil(nentries / 64) * 8);
    this.useCount = new Uint32Array(nentries);
    this.maskAll();
  }

  get tableSize(): number {
    return this.table.length;
  }

  /** MSI-X Enable is set. */
  get enabled(): boolean {
    return (this.cfg.config[this.cap + CONTROL_BYTE] & ENABLE) !== 0;
  }

  /** Not enabled, or the Function Mask is set. */
  get functionMasked(): boolean {
    return this.fmasked;
  }

  isMasked(v: number): boolean {
    return this.fmasked || (this.table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  isPending(v: number): boolean {
    return (this.pba[v >> 3] & (1 << (v & 7))) !== 0;
  }

  /** The message address of vector `v` (le64). */
  address(v: number): number {
    const e = v * PCI_MSIX_ENTRY_SIZE;
    return le32(this.table, e + PCI_MSIX_ENTRY_UPPER_ADDR) * 2 ** 32 + le32(this.table, e + PCI_MSIX_ENTRY_LOWER_ADDR);
  }

  data(v: number): number {
    return le32(this.table, v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA);
  }

  /** msix_notify: send vector `v`, or set its pending bit while it is masked. */
  notify(v: number): void {
    if (v >= this.nentries || this.useCount[v] === 0) return;
    if (this.isMasked(v)) {
      this.pba[v >> 3] |= 1 << (v & 7);
      return;
    }
    this.sink.send(this.address(v), this.data(v), v);
  }

  /** msix_vector_use: false when `v` is not a vector of this function. */
  vectorUse(v: number): boolean {
    if (!(v >= 0 && v < this.nentries)) return false;
    this.useCount[v]++;
    return true;
  }

  vectorUnuse(v: number): void {
    if (!(v >= 0 && v < this.nentries) || this.useCount[v] === 0) return;
    if (--this.useCount[v] === 0) this.clearPending(v);
  }

  unuseAll(): void {
    this.useCount.fill(0);
    this.pba.fill(0);
  }

  /** After a guest config write covering [addr, addr+len): react to Enable / Function Mask (msix_write_config). */
  configWritten(addr: number, len: number): void {
    const pos = this.cap + CONTROL_BYTE;
    if (pos < addr || pos >= addr + len) return;
    const wasMasked = this.fmasked;
    this.updateFunctionMasked();
    if (!this.enabled) return;
    this.sink.deassertIntx();
    if (this.fmasked === wasMasked) return;
    for (let v = 0; v < this.nentries; v++) this.handleMaskUpdate(v, wasMasked || this.vectorMaskBit(v));
  }

  /* ---- the table and PBA as the guest sees them through the BAR (4-byte accesses) ---- */

  tableRead(off: number): number {
    return off >= 0 && off + 4 <= this.table.length ? le32(this.table, off) : 0;
  }

  tableWrite(off: number, val: number): void {
    if (!(off >= 0 && off + 4 <= this.table.length)) return;
    const v = Math.floor(off / PCI_MSIX_ENTRY_SIZE);
    const wasMasked = this.isMasked(v);
    for (let i = 0; i < 4; i++) this.table[off + i] = (val >>> (8 * i)) & 0xff;
    this.handleMaskUpdate(v, wasMasked);
  }

  pbaRead(off: number): number {
    return off >= 0 && off + 4 <= this.pba.length ? le32(this.pba, off) : 0;
  }

  /** msix_reset: disable, clear the table and pending bits, mask every vector. */
  reset(): void {
    this.cfg.config[this.cap + CONTROL_BYTE] &= ~this.cfg.wmask[this.cap + CONTROL_BYTE];
    this.table.fill(0);
    this.pba.fill(0);
    this.updateFunctionMasked();
    this.maskAll();
  }

  private vectorMaskBit(v: number): boolean {
    return (this.table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  private clearPending(v: number): void {
    this.pba[v >> 3] &= ~(1 << (v & 7));
  }

  private updateFunctionMasked(): void {
    this.fmasked = !this.enabled || (this.cfg.config[this.cap + CONTROL_BYTE] & MASKALL) !== 0;
  }

  private handleMaskUpdate(v: number, wasMasked: boolean): void {
    const masked = this.isMasked(v);
    if (masked === wasMasked) return;
    if (!masked && this.isPending(v)) {
      this.clearPending(v);
      this.notify(v);
    }
  }

  private maskAll(): void {
    for (let v = 0; v < this.nentries; v++) {
      const wasMasked = this.isMasked(v);
      this.table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
      this.handleMaskUpdate(v, wasMasked);
    }
  }
}

function le32(a: Uint8Array, off: number): number {
  return (a[off] | (a[off + 1] << 8) | (a[off + 2] << 16) | (a[off + 3] << 24)) >>> 0;
}
