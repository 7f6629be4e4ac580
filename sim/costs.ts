/**
 * The cost model: every modelled duration has a name, a default, a unit and the source
 * of that default. Work is charged by name, so a report can say what a number rests on
 * and a user can override any of them with a JSON file of `{ "name": ns }`.
 *
 * Where no publication gives a figure, the source says "model assumption" and why the
 * value is in the range it is. The anchors are in ../shared/reference/kvm-exits.md
 * (rows X1..X29); 1 cycle at 2.93 GHz ≈ 0.34 ns.
 */
import * as E from 'fp-ts/lib/Either.js';

export interface CostEntry {
  /** Nanoseconds (or nanoseconds per byte for `perByte` entries). */
  readonly ns: number;
  readonly help: string;
  readonly source: string;
  readonly perByte?: boolean;
}

const X2 = 'kvm-exits.md X2 (SplitX: direct cost of one exit ≈ 2,000 cycles at 2.93 GHz)';
const X45 = 'kvm-exits.md X4/X5 (KVM_RUN round trip to userspace 2,528 cycles; userspace:kernel ≈ 3:1)';

export const DEFAULT_COSTS = {
  'kvm.exit.roundtrip': { ns: 680, help: 'VM exit plus VM entry (world switch), any reason', source: X2 },
  'kvm.exit.fast-mmio': { ns: 60, help: 'KVM_FAST_MMIO_BUS lookup and eventfd signal on EPT_MISCONFIG', source: 'kvm-exits.md X9 (MMIO eventfd "essentially as fast as PIO")' },
  'kvm.exit.mmio-emulate': { ns: 350, help: 'page walk and instruction emulation of an MMIO access', source: 'kvm-exits.md X9 ("MMIO is much slower than PIO, due to the need to do page walk and emulation"); model assumption for the figure' },
  'kvm.exit.pio-decode': { ns: 80, help: 'decoding an IN/OUT exit (exit qualification) in kvm_fast_pio', source: 'kvm-exits.md X6 (IO_INSTRUCTION avg 3 µs including handling); model assumption' },
  'kvm.exit.ept-violation': { ns: 900, help: 'first touch of an MMIO page: EPT violation and MMIO SPTE install', source: 'model assumption (a page-fault walk, a few times the exit cost)' },
  'kvm.exit.userspace': { ns: 1450, help: 'leaving KVM_RUN to QEMU and coming back (heavyweight extra)', source: X45 },
  'kvm.msr.eoi': { ns: 120, help: 'handling an x2APIC EOI WRMSR in the in-kernel APIC', source: 'kvm-exits.md X6 (MSR_WRITE avg < 1 µs); model assumption' },
  'kvm.hlt': { ns: 150, help: 'handling HLT: vCPU blocks (after halt polling)', source: 'model assumption' },
  'kvm.irq.inject': { ns: 150, help: 'KVM injecting a pending interrupt at VM entry', source: 'model assumption' },
  'kvm.irq.kick-ipi': { ns: 400, help: 'IPI to a running vCPU so it exits (EXTERNAL_INTERRUPT) and takes an interrupt', source: 'kvm-exits.md X6 (EXTERNAL_INTERRUPT avg 1 µs); model assumption' },
  'kvm.irq.posted': { ns: 100, help: 'posted-interrupt notification to a running vCPU (no exit)', source: 'kvm-exits.md X24 (ELI: exitless interrupts); model assumption' },
  'kvm.vcpu.wakeup': { ns: 4000, help: 'waking a halted vCPU thread through the host scheduler', source: 'model assumption (host scheduler wakeup of a blocked thread, a few µs)' },
  'kvm.vcpu.wakeup-polled': { ns: 400, help: 'waking a vCPU still in halt polling (halt_poll_ns)', source: 'model assumption' },
  'kvm.ioctl.irq': { ns: 500, help: 'a KVM_IRQ_LINE or KVM_SIGNAL_MSI ioctl from QEMU', source: 'model assumption (one syscall into KVM)' },
  'kvm.irqfd.signal': { ns: 250, help: 'writing an irqfd eventfd; KVM injects from the kernel', source: 'model assumption (one eventfd write)' },
  'qemu.eventfd.wakeup': { ns: 3000, help: 'an ioeventfd waking QEMU main loop or an iothread (ppoll return)', source: 'model assumption (a thread wakeup, same order as kvm.vcpu.wakeup)' },
  'qemu.mmio.dispatch': { ns: 300, help: 'QEMU memory API dispatch of an MMIO/PIO access to a device callback', source: 'model assumption' },
  'qemu.bql.handoff': { ns: 200, help: 'taking the big QEMU lock on the vCPU thread', source: 'model assumption' },
  'qemu.vq.pop': { ns: 150, help: 'virtqueue_pop: read avail, walk one chain, map its buffers', source: 'model assumption' },
  'qemu.vq.desc': { ns: 25, help: 'per descriptor of a chain (read, validate, map)', source: 'model assumption' },
  'qemu.vq.push': { ns: 60, help: 'virtqueue_push + used idx update', source: 'model assumption' },
  'qemu.blk.request': { ns: 400, help: 'virtio-blk request parse and blk_aio_* submission', source: 'model assumption' },
  'qemu.blk.complete': { ns: 250, help: 'virtio-blk completion callback (status, unmap, push)', source: 'model assumption' },
  'qemu.virtio-scsi.request': { ns: 300, help: 'virtio-scsi: parse one command request (virtio_scsi_parse_req, header copy, LUN check, virtio_scsi_device_get) and hand it to the SCSI bus', source: 'model assumption (less than qemu.blk.request: the CDB is parsed by the SCSI layer, qemu.scsi.request)' },
  'qemu.virtio-scsi.complete': { ns: 200, help: 'virtio-scsi: virtio_scsi_command_complete — response header, sense copy, virtqueue_push', source: 'model assumption (as qemu.blk.complete, without the status-byte unmap)' },
  'qemu.scsi.request': { ns: 400, help: 'QEMU SCSI emulation per command: scsi_req_new (CDB parse, transfer length), scsi-disk send_command checks (range, write protection) and dma_blk_io setup, or the emulated command (INQUIRY, READ CAPACITY…)', source: 'model assumption (the SCSI layer QEMU runs between virtio-scsi and the block layer; virtio-blk has none)' },
  'qemu.scsi.complete': { ns: 150, help: 'QEMU SCSI emulation per backend completion: scsi_dma_complete / scsi_req_complete (status, unit-attention bookkeeping, dequeue) before the HBA is told', source: 'model assumption' },
  'qemu.block.layer': { ns: 300, help: 'BlockBackend/coroutine entry for one request through the node graph', source: 'model assumption' },
  'qemu.aio.completion-bh': { ns: 1500, help: 'completion of a thread-pool (aio=threads) request back into the AioContext', source: 'model assumption' },
  'copy.byte': { ns: 0.1, perByte: true, help: 'memcpy / DMA per byte (≈10 GB/s)', source: 'model assumption' },
  'guest.syscall': { ns: 150, help: 'entering and leaving the guest kernel for one system call (io_submit, io_getevents)', source: 'model assumption (a syscall round trip on a modern x86 core)' },
  'guest.blk.submit': { ns: 300, help: 'guest block layer: bio → request, tag allocation', source: 'model assumption' },
  'guest.virtio-blk.queue_rq': { ns: 250, help: 'virtio_queue_rq: build header, map sg, virtqueue_add_sgs', source: 'model assumption' },
  'guest.virtio-scsi.queue': { ns: 250, help: 'virtscsi_queuecommand: build the request header and CDB, map sg, virtqueue_add_sgs', source: 'model assumption (as virtio_queue_rq)' },
  'guest.scsi.queue_rq': { ns: 300, help: 'scsi_queue_rq + sd_init_command: budget, build the CDB for one block request', source: 'model assumption' },
  'guest.scsi.done': { ns: 200, help: 'guest SCSI midlayer completion: scsi_done, scsi_complete, scsi_decide_disposition and scsi_io_completion for one command (before blk_mq_end_request)', source: 'model assumption (the midlayer half of a SCSI completion, a few hundred instructions)' },
  'guest.virtio-scsi.complete': { ns: 100, help: 'virtscsi_complete_cmd: read the response, set the result, copy sense, for one command', source: 'model assumption' },
  'guest.vq.add-desc': { ns: 20, help: 'per descriptor written by virtqueue_add', source: 'model assumption' },
  'guest.irq.entry': { ns: 400, help: 'guest interrupt entry/exit (handler prologue and iret)', source: 'model assumption' },
  'guest.vq.get_buf': { ns: 80, help: 'virtqueue_get_buf: one used entry', source: 'model assumption' },
  'guest.blk.complete': { ns: 300, help: 'guest block layer: request completion, wake the waiter', source: 'model assumption' },
  'guest.blk.bio': { ns: 150, help: 'guest block layer: submit_bio / blk_mq_submit_bio entry for one bio (end-of-device and alignment checks, split decision, plug lookup)', source: 'model assumption (a few hundred instructions of block-layer code, ~0.1-0.2 µs)' },
  'guest.blk.split': { ns: 250, help: 'guest block layer: bio_split — one extra bio carved from a bio that exceeds the queue limits, chained to its parent', source: 'model assumption (a bio_set allocation plus iterator arithmetic)' },
  'guest.blk.merge': { ns: 60, help: 'guest block layer: one merge attempt for a bio (plug list walk or the scheduler\'s hash / rbtree lookup, limits check)', source: 'model assumption (a few cache-hot lookups, tens of ns)' },
  'guest.blk.sched.insert': { ns: 150, help: 'mq-deadline dd_insert_request: rbtree insert, FIFO tail and merge hash under dd->lock', source: 'model assumption (an rbtree insert and a spinlock, ~0.1-0.2 µs)' },
  'guest.blk.sched.dispatch': { ns: 120, help: 'mq-deadline dd_dispatch_request: pick by batch or FIFO expiry, take it off the rbtree and FIFO, get a driver tag', source: 'model assumption' },
  'guest.blk.flush': { ns: 200, help: 'blk-flush: blk_kick_flush setting up and queueing one flush request for the requests waiting on it', source: 'model assumption' },
  'guest.task.wakeup': { ns: 1000, help: 'waking the submitting task and returning from the syscall', source: 'model assumption' },
  'guest.pagecache.lookup': { ns: 50, help: 'page cache: look up one page of a mapping and take a reference (find_get_page / filemap_get_folio, an xarray walk)', source: 'model assumption (a few cache-hot xarray levels, tens of ns)' },
  'guest.pagecache.alloc': { ns: 200, help: 'page cache: allocate a page and add it to the mapping and the LRU (alloc_pages fast path + add_to_page_cache_lru)', source: 'model assumption (per-CPU free list hit plus xarray insert, ~100-300 ns)' },
  'guest.pagecache.reclaim-scan': { ns: 100, help: 'page reclaim: scan one LRU page (isolate, check flags, unmap from the mapping if clean)', source: 'model assumption (shrink_page_list per page, ~0.1 µs)' },
  'guest.vfs.path': { ns: 80, help: 'vfs: resolve one path component (link_path_walk with a dcache hit, mount crossing)', source: 'model assumption (a hash lookup and a few checks per component, ~50-100 ns)' },
  'guest.fs.op': { ns: 1500, help: 'ext3: one namespace or inode operation in a journal handle (create, unlink, rename, mkdir, truncate)', source: 'model assumption (journal_start/stop plus a directory block scan and a few buffer updates, ~1-2 µs)' },
  'guest.fs.bmap': { ns: 120, help: 'ext3: map one file block (ext3_get_block: walk the block map; allocate from the bitmap when creating)', source: 'model assumption (cache-hot indirect block walk, ~0.1 µs)' },
  'guest.jbd2.commit': { ns: 4000, help: 'jbd2: start committing a transaction (lock it, build descriptor and commit blocks, switch the running transaction)', source: 'model assumption (jbd2_journal_commit_transaction setup, a few µs)' },
  'guest.jbd2.block': { ns: 200, help: 'jbd2: one metadata block a commit or checkpoint writes (copy-out, buffer_head handling; bytes at copy.byte)', source: 'model assumption' },
  'backend.memory.latency': { ns: 200, help: 'memory driver: service time of one request', source: 'model assumption (memcpy-speed storage)' },
  'backend.file.latency': { ns: 20000, help: 'file driver: service time of one request on the host (NVMe-class SSD)', source: 'model assumption (modelled, not measured: the real file I/O is done but its wall time is not used)' },
  'backend.file.flush': { ns: 50000, help: 'file driver: fdatasync on the host', source: 'model assumption' },
  'backend.bandwidth': { ns: 0.5, perByte: true, help: 'backend transfer per byte (≈2 GB/s)', source: 'model assumption' },
  'backend.file.cached': { ns: 1500, help: 'file driver, cache.direct=off: a pread/pwrite served by the host page cache (syscall; bytes charged at copy.byte)', source: 'model assumption (one syscall plus page-cache lookup, ~1-2 µs for 4 KiB)' },
  'qemu.aio.completion-native': { ns: 500, help: 'completion of an aio=native or aio=io_uring request (event reaped in the same AioContext, no thread hop)', source: 'model assumption (cheaper than qemu.aio.completion-bh: no worker thread wakeup)' },
} as const satisfies Record<string, CostEntry>;

export type CostName = keyof typeof DEFAULT_COSTS;

export type CostError = { _tag: 'UnknownCost'; name: string } | { _tag: 'BadCostValue'; name: string; value: unknown } | { _tag: 'BadCostFile'; message: string };

export function costErrorMessage(e: CostError): string {
  switch (e._tag) {
    case 'UnknownCost':
      return `cost model: unknown cost '${e.name}' (see 'iopath costs' for the names)`;
    case 'BadCostValue':
      return `cost model: '${e.name}' must be a non-negative number of nanoseconds, got ${JSON.stringify(e.value)}`;
    case 'BadCostFile':
      return `cost model: ${e.message}`;
  }
}

/** A cost table with the user's overrides applied. */
export class CostModel {
  /** A Map: a keyed lookup stays fast whatever the number of costs (a large object literal would not). */
  private readonly values: Map<CostName, number>;

  constructor(overrides: Partial<Record<CostName, number>> = {}) {
    this.values = new Map(Object.entries(DEFAULT_COSTS).map(([k, v]) => [k as CostName, overrides[k as CostName] ?? v.ns]));
  }

  /** Nanoseconds for one occurrence of `name`. */
  ns(name: CostName): number {
    return this.values.get(name)!;
  }

  /** Nanoseconds for `bytes` of a per-byte cost. */
  bytes(name: CostName, bytes: number): number {
    return this.values.get(name)! * bytes;
  }

  /** Parse `{ "name": ns, ... }` (JSON text) into a cost model, naming any bad entry. */
  static fromJson(text: string): E.Either<CostError, CostModel> {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      return E.left({ _tag: 'BadCostFile', message: `not valid JSON: ${(err as Error).message}` });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      return E.left({ _tag: 'BadCostFile', message: 'expected a JSON object of { "cost.name": nanoseconds }' });
    }
    const overrides: Partial<Record<CostName, number>> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (!(k in DEFAULT_COSTS)) return E.left({ _tag: 'UnknownCost', name: k });
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return E.left({ _tag: 'BadCostValue', name: k, value: v });
      overrides[k as CostName] = v;
    }
    return E.right(new CostModel(overrides));
  }
}
