/**
 * Booting the guest: its kernel over the vCPUs KVM provides, then, on vCPU 0, what
 * firmware and Linux do at boot for storage — enumerate PCI bus 0, assign BARs, and
 * bind the virtio-blk driver to every virtio block function in slot order (vda, vdb…).
 * Every register access this takes is a real modelled exit, in the `setup` phase.
 */
import type { VcpuPort } from '../hw/cpu.js';
import type { GuestMemory } from '../hw/memory.js';
import { PCI_VENDOR_ID_REDHAT_QUMRANET, VIRTIO_PCI_MODERN_DEVICE_ID_BASE } from '../hw/virtio/pci-layout.js';
import { VIRTIO_ID_BLOCK } from '../hw/virtio/constants.js';
import { GuestKernel } from '../guest/kernel/kernel.js';
import { DmaAllocator } from '../guest/kernel/dma-alloc.js';
import { PciConfigAccess } from '../guest/pci/config-access.js';
import { enumeratePciBus } from '../guest/pci/enumerate.js';
import { VirtioBlkDriver } from '../guest/virtio-drivers/virtio-blk.js';
import { VirtioPciTransport, virtioProbeErrorMessage } from '../guest/virtio-drivers/virtio-pci.js';
import type { CostModel } from '../sim/costs.js';
import type { Simulator } from '../sim/simulator.js';
import type { Trace } from '../sim/trace.js';

/** Where firmware puts 32-bit BARs (the PCI hole below 4 GiB) and I/O BARs. */
export const PCI_MMIO_WINDOW = 0xc0000000;
export const PCI_IO_WINDOW = 0xc000;
/** Guest RAM the allocators may hand out ends below the PCI hole. */
const LOW_RAM_END = PCI_MMIO_WINDOW;

export interface Guest {
  kernel: GuestKernel;
  /** User-space memory for workload buffers. */
  user: DmaAllocator;
  disks: VirtioBlkDriver[];
}

export function bootGuest(
  sim: Simulator,
  trace: Trace,
  costs: CostModel,
  mem: GuestMemory,
  vcpus: VcpuPort[],
  done: (r: Guest | { error: string; dev: string }) => void,
): void {
  const kernel = new GuestKernel(sim, trace, costs, mem, vcpus, LOW_RAM_END);
  const user = new DmaAllocator(kernel.dmaEnd, Math.min(mem.size, LOW_RAM_END));
  kernel.cpus[0].schedule('boot', () => {
    const port = kernel.cpus[0].port;
    const cfg = new PciConfigAccess(port);
    const fns = enumeratePciBus(cfg, { mmioBase: PCI_MMIO_WINDOW, ioBase: PCI_IO_WINDOW });
    const disks: VirtioBlkDriver[] = [];
    for (const fn of fns) {
      if (fn.vendor !== PCI_VENDOR_ID_REDHAT_QUMRANET || fn.device !== VIRTIO_PCI_MODERN_DEVICE_ID_BASE + VIRTIO_ID_BLOCK) continue;
      const dev = `00:${fn.slot.toString(16).padStart(2, '0')}.0`;
      const t = VirtioPciTransport.probe(port, cfg, fn);
      if ('_tag' in t) return done({ error: virtioProbeErrorMessage(t), dev });
      const d = VirtioBlkDriver.probe(kernel, t, disks.length);
      if ('_tag' in d) return done({ error: virtioProbeErrorMessage(d), dev });
      disks.push(d);
    }
    done({ kernel, user, disks });
  });
}
