/**
 * ioeventfd (Documentation/virt/kvm/api.rst, KVM_IOEVENTFD): a guest write to a
 * registered address signals an eventfd instead of exiting to userspace. QEMU registers
 * one per virtqueue doorbell (virtio-pci `ioeventfd=on`). Modern virtio-pci registers
 * zero-length MMIO eventfds (len 0, no datamatch), which KVM matches on the
 * KVM_FAST_MMIO_BUS from EPT_MISCONFIG without decoding the instruction.
 */
export interface IoEventFd {
  readonly addr: number;
  /** 0 (any width, fast MMIO bus), 1, 2, 4 or 8. */
  readonly len: 0 | 1 | 2 | 4 | 8;
  readonly pio: boolean;
  readonly datamatch?: number;
  /** The eventfd's reader: QEMU's handler (main loop or iothread), woken later. */
  signal(): void;
}

export class IoEventFdTable {
  private fds: IoEventFd[] = [];

  assign(fd: IoEventFd): void {
    this.fds.push(fd);
  }

  deassign(fd: IoEventFd): void {
    this.fds = this.fds.filter((x) => x !== fd);
  }

  match(pio: boolean, addr: number, size: number, value: number): IoEventFd | undefined {
    for (const fd of this.fds) {
      if (fd.pio !== pio || fd.addr !== addr) continue;
      if (fd.len !== 0 && fd.len !== size) continue;
      if (fd.datamatch !== undefined && fd.datamatch !== value) continue;
      return fd;
    }
    return undefined;
  }
}
