/**
 * Booting the guest: its kernel over the vCPUs KVM provides, then, on vCPU 0, what
 * firmware and Linux do at boot for storage — enumerate PCI bus 0, assign BARs, and
 * bind the drivers in slot order: virtio_blk to every virtio block function (vda,
 * vdb…), virtio_scsi to every virtio SCSI function (SCSI hosts 0, 1…). Then each SCSI
 * host is scanned, one after the other as Linux's async scans finish in host order
 * (scsi_complete_async_scans), and sd binds the disks found (sda, sdb…); boot completes
 * after the last scan. Every register access this takes is a real modelled exit, in the
 * `setup` phase.
 *
 * Then the storage stack above the drivers: a block device (`/dev/vdX`, `/dev/sdX`,
 * guest/blockdev) per disk, the page cache, and the guest OS (guest/vfs: system calls,
 * mounts, processes). The guest's /dev follows sd: a disk hot-plugged later appears
 * there, a removed one goes (its in-flight and new I/O fails, the device being offline). Guest RAM is split: the kernel's DMA area (guest/kernel), user memory for
 * workload buffers (a quarter of the rest, at least 16 MiB, at most half), and the
 * page cache's pages (the rest, up to the PCI hole).
 */
import type { VcpuPort } from '../hw/cpu.js';
import { PAGE_SIZE, type GuestMemory } from '../hw/memory.js';
import { PCI_VENDOR_ID_REDHAT_QUMRANET, VIRTIO_PCI_MODERN_DEVICE_ID_BASE } from '../hw/virtio/pci-layout.js';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_SCSI } from '../hw/virtio/constants.js';
import type { BlkMq } from '../guest/blockdev/blk-mq.js';
import type { BlockDevice, GuestBlockDevice } from '../guest/blockdev/block-device.js';
import { GuestKernel } from '../guest/kernel/kernel.js';
import { DmaAllocator } from '../guest/kernel/dma-alloc.js';
import { PageAllocator } from '../guest/kernel/page-alloc.js';
import { PageCache } from '../guest/pagecache/pagecache.js';
import { PciConfigAccess } from '../guest/pci/config-access.js';
import { enumeratePciBus } from '../guest/pci/enumerate.js';
import { SdDriver } from '../guest/scsi/sd.js';
import { GuestOs } from '../guest/vfs/guest-os.js';
import { virtblkBlockDevice } from '../guest/virtio-drivers/virtio-blk-bdev.js';
import { VirtioBlkDriver } from '../guest/virtio-drivers/virtio-blk.js';
import { VirtioScsiDriver } from '../guest/virtio-drivers/virtio-scsi/driver.js';
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
  /** The virtio-blk disks, in slot order. */
  disks: VirtioBlkDriver[];
  /** The block device over each virtio-blk disk, in the same order (`/dev/vda`…). */
  bdevs: BlockDevice[];
  /** The virtio-scsi HBAs' drivers, in slot order (SCSI hosts 0, 1…). */
  scsiHosts: VirtioScsiDriver[];
  /** sd: the SCSI disks (`/dev/sda`…) as they are now (hot-plug adds and removes them). */
  sd: SdDriver;
  /**
   * The guest's /dev: every block device by path, virtio-blk and SCSI alike, and the
   * device-mapper maps multipathd makes (`/dev/dm-0`, `/dev/mapper/mpatha`, vm/paths.ts).
   */
  devices: Map<string, GuestBlockDevice>;
  /** The page cache (its pages: the end of low RAM). */
  cache: PageCache;
  /** System calls, processes, user buffers (guest/vfs). */
  os: GuestOs;
}

/** A block device of the guest and the blk-mq core under it (where O_DIRECT block jobs submit). */
export interface GuestDisk {
  /** The name under /dev (`vda`, `sda`). */
  readonly name: string;
  readonly bdev: BlockDevice;
  readonly blk: BlkMq;
}

/** The guest's disks now: virtio-blk's in slot order, then sd's in name order. */
export function guestDisks(g: Guest): GuestDisk[] {
  const out: GuestDisk[] = g.disks.map((d, i) => ({ name: d.disk.name, bdev: g.bdevs[i], blk: d.blk }));
  const sd = [...g.sd.disks.values()].sort((a, b) => a.disk.name.length - b.disk.name.length || (a.disk.name < b.disk.name ? -1 : 1));
  for (const h of sd) if (h.queue.blk) out.push({ name: h.disk.name, bdev: h.bdev, blk: h.queue.blk });
  return out;
}

/** The disk at `path` (`/dev/sda`, or just `sda`), if the guest has it now. */
export function guestDisk(g: Guest, path: string): GuestDisk | undefined {
  const name = path.startsWith('/dev/') ? path.slice(5) : path;
  return guestDisks(g).find((d) => d.name === name);
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
    const scsiHosts: VirtioScsiDriver[] = [];
    for (const fn of fns) {
      if (fn.vendor !== PCI_VENDOR_ID_REDHAT_QUMRANET) continue;
      const id = fn.device - VIRTIO_PCI_MODERN_DEVICE_ID_BASE;
      if (id !== VIRTIO_ID_BLOCK && id !== VIRTIO_ID_SCSI) continue;
      const dev = `00:${fn.slot.toString(16).padStart(2, '0')}.0`;
      const t = VirtioPciTransport.probe(port, cfg, fn);
      if ('_tag' in t) return done({ error: virtioProbeErrorMessage(t), dev });
      const d = id === VIRTIO_ID_BLOCK ? VirtioBlkDriver.probe(kernel, t, disks.length) : VirtioScsiDriver.probe(kernel, t, scsiHosts.length);
      if ('_tag' in d) return done({ error: virtioProbeErrorMessage(d), dev });
      if (d instanceof VirtioBlkDriver) disks.push(d);
      else scsiHosts.push(d);
    }
    const bdevs = disks.map((d) => virtblkBlockDevice(kernel, d));
    const devices = new Map<string, GuestBlockDevice>(bdevs.map((b) => [`/dev/${b.name}`, b] as const));
    const sd = new SdDriver(kernel);
    sd.onChange = (name, bdev) => {
      if (bdev) devices.set(`/dev/${name}`, bdev);
      else devices.delete(`/dev/${name}`);
    };
    for (const h of scsiHosts) sd.attach(h.host);
    const finish = (): void => {
      const os = new GuestOs(kernel, user, cache.right, devices);
      done({ kernel, user, disks, bdevs, scsiHosts, sd, devices, cache: cache.right, os });
    };
    const scan = (i: number): void => (i === scsiHosts.length ? finish() : scsiHosts[i].scan(() => scan(i + 1)));
    scan(0);
  });
}
