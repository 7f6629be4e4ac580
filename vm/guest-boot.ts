/**
 * Booting the guest: its kernel over the vCPUs KVM provides, then, on vCPU 0, what
 * firmware and Linux do at boot for storage — enumerate PCI bus 0, assign BARs, and
 * bind the virtio-blk driver to every virtio block function in slot order (vda, vdb…).
 * Every register access this takes is a real modelled exit, in the `setup` phase.
 *
 * Then the storage stack above the drivers: a block device (`/dev/vdX`, guest/blockdev)
 * per disk, the page cache, and the guest OS (guest/vfs: system calls, mounts,
 * processes). Guest RAM is split: the kernel's DMA area (guest/kernel), user memory for
 * workload buffers (a quarter of the rest, at least 16 MiB, at most half), and the
 * page cache's pages (the rest, up to the PCI hole).
 */
import type { VcpuPort } from '../hw/cpu.js';
import { PAGE_SIZE, type GuestMemory } from '../hw/memory.js';
import { PCI_VENDOR_ID_REDHAT_QUMRANET, VIRTIO_PCI_MODERN_DEVICE_ID_BASE } from '../hw/virtio/pci-layout.js';
import { VIRTIO_ID_BLOCK } from '../hw/virtio/constants.js';
import type { BlockDevice } from '../guest/blockdev/block-device.js';
import { GuestKernel } from '../guest/kernel/kernel.js';
import { DmaAllocator } from '../guest/kernel/dma-alloc.js';
import { PageAllocator } from '../guest/kernel/page-alloc.js';
import { PageCache } from '../guest/pagecache/pagecache.js';
import { PciConfigAccess } from '../guest/pci/config-access.js';
import { enumeratePciBus } from '../guest/pci/enumerate.js';
import { GuestOs } from '../guest/vfs/guest-os.js';
import { virtblkBlockDevice } from '../guest/virtio-drivers/virtio-blk-bdev.js';
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
const MIB = 1 << 20;

export interface Guest {
  kernel: GuestKernel;
  /** User-space memory for workload buffers. */
  user: DmaAllocator;
  disks: VirtioBlkDriver[];
  /** The block device over each disk, in the same order (`/dev/vda`…). */
  bdevs: BlockDevice[];
  /** The page cache (its pages: the end of low RAM). */
  cache: PageCache;
  /** System calls, processes, user buffers (guest/vfs). */
  os: GuestOs;
}

/** How low RAM above the kernel's DMA area is split: [user, page cache) and [page cache, end). */
export function guestMemoryLayout(kernel: GuestKernel, memBytes: number): { userEnd: number; cacheStart: number; cacheEnd: number } {
  const end = Math.floor(Math.min(memBytes, LOW_RAM_END) / PAGE_SIZE) * PAGE_SIZE;
  const rest = Math.max(0, end - kernel.dmaEnd);
  const user = Math.min(Math.floor(rest / 2), Math.max(16 * MIB, Math.floor(rest / 4)));
  const cacheStart = Math.min(end, Math.ceil((kernel.dmaEnd + user) / PAGE_SIZE) * PAGE_SIZE);
  return { userEnd: kernel.dmaEnd + user, cacheStart, cacheEnd: end };
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
  const layout = guestMemoryLayout(kernel, mem.size);
  const user = new DmaAllocator(kernel.dmaEnd, layout.userEnd);
  const cache = PageCache.create(kernel, { pages: new PageAllocator(layout.cacheStart, layout.cacheEnd, mem) });
  if ('left' in cache) return done({ error: 'page cache: bad default knobs', dev: 'boot' });
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
    const bdevs = disks.map((d) => virtblkBlockDevice(kernel, d));
    const os = new GuestOs(kernel, user, cache.right, new Map(bdevs.map((b) => [`/dev/${b.name}`, b] as const)));
    done({ kernel, user, disks, bdevs, cache: cache.right, os });
  });
}
