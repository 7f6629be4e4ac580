/**
 * The host half of a VM, wired from a VmSpec: KVM with its vCPUs, QEMU's main loop (the
 * BQL holder) and iothreads, the i440FX PCI host, the block graphs behind the drives,
 * and for each `-device` its model and its virtio-pci transport.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestMemory } from '../hw/memory.js';
import { createVirtioBlk, propErrorMessage, type VirtioBlk } from '../host/devices/virtio-blk/index.js';
import { I440fxHost } from '../host/devices/pci/i440fx.js';
import { createVirtioPci, virtioPciErrorMessage } from '../host/devices/virtio-pci/options.js';
import type { VirtioPciTransport } from '../host/devices/virtio-pci/virtio-pci.js';
import { KvmVm } from '../host/kvm-exits/kvm.js';
import { openBlockGraph, type BlockEnv, type BlockGraphSpec, type OpenedDrive } from '../host/storage/index.js';
import { ExecutionContext } from '../sim/context.js';
import type { CostModel } from '../sim/costs.js';
import type { Simulator } from '../sim/simulator.js';
import type { Trace } from '../sim/trace.js';
import type { DriveSpec, VirtioBlkPciSpec, VmSpec } from './spec.js';
import type { VmError } from './errors.js';

export interface HostDevice {
  spec: VirtioBlkPciSpec;
  name: string;
  model: VirtioBlk;
  transport: VirtioPciTransport;
}

export interface Host {
  kvm: KvmVm;
  mainLoop: ExecutionContext;
  iothreads: Map<string, ExecutionContext>;
  pciHost: I440fxHost;
  drives: Map<string, OpenedDrive>;
  devices: HostDevice[];
  /** The drives and the clock they run on; a reboot keeps them (vm/power.ts). */
  storage: HostStorage;
}

/**
 * The host's storage: every drive's block graph and BlockBackend, and the environment
 * they run in. It outlives a guest: a reboot boots a new guest over the same storage,
 * moving `env` to the new machine's clock (the old machine's pending events are
 * abandoned with its simulator).
 */
export interface HostStorage {
  /** Mutable on purpose: the storage's clock and trace follow the machine it serves. */
  env: { sim: Simulator; trace: Trace; costs: CostModel } & BlockEnv;
  drives: Map<string, OpenedDrive>;
}

/** Open every drive of `spec` (each in its own graph). */
export function openHostStorage(spec: VmSpec, sim: Simulator, trace: Trace, costs: CostModel): E.Either<VmError, HostStorage> {
  const env = { sim, trace, costs };
  const drives = new Map<string, OpenedDrive>();
  for (const d of spec.drives) {
    const opened = openBlockGraph(env, driveGraphSpec(d));
    if (E.isLeft(opened)) {
      for (const o of drives.values()) o.graph.close();
      return E.left({ _tag: 'Storage', drive: d.id, error: opened.left });
    }
    drives.set(d.id, opened.right);
  }
  return E.right({ env, drives });
}

/** The options a DriveSpec gives the block layer. */
export function driveGraphSpec(d: DriveSpec): BlockGraphSpec {
  if (d.source === 'blockdev' && d.blockdev) return { blockdev: d.blockdev as never };
  // The block layer passes `aio` only to protocols that have AIO modes (host/storage/drive.ts).
  const opts: Record<string, unknown> = { ...d.options, id: d.id, cache: d.cache, aio: d.aio, discard: d.discard };
  if (d.readOnly) opts.readonly = 'on';
  if (d.file !== undefined) opts.file = d.file;
  if (d.format !== undefined) opts.format = d.format;
  return { drive: opts };
}

/**
 * Build the host for `spec`: KVM, QEMU's contexts and devices, over `storage` (opened
 * here when not given; a reboot passes the storage the previous machine used).
 */
export function buildHost(spec: VmSpec, sim: Simulator, trace: Trace, costs: CostModel, mem: GuestMemory, given?: HostStorage): E.Either<VmError, Host> {
  const opened = given ? E.right(given) : openHostStorage(spec, sim, trace, costs);
  if (E.isLeft(opened)) return opened;
  const storage = opened.right;
  const drives = storage.drives;
  const mainLoop = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
  const kvm = new KvmVm(sim, trace, costs, spec.kvm, mainLoop, spec.smp.cpus);
  const iothreads = new Map(spec.iothreads.map((t) => [t.id, new ExecutionContext(sim, trace, `iothread:${t.id}`, 'iothread')] as const));
  const pciHost = new I440fxHost(kvm);
  const devices: HostDevice[] = [];
  let nextSlot = 2;
  for (const [i, dev] of spec.devices.entries()) {
    const name = dev.id ?? `virtio-blk${i}`;
    const drive = drives.get(dev.drive);
    if (!drive) return E.left({ _tag: 'NoSuchDrive', dev: name, drive: dev.drive });
    let context = mainLoop;
    if (dev.iothread !== undefined) {
      const t = iothreads.get(dev.iothread);
      if (!t) return E.left({ _tag: 'NoSuchIothread', dev: name, iothread: dev.iothread });
      context = t;
    }
    let transport: VirtioPciTransport | undefined;
    const model = createVirtioBlk({
      sim,
      trace,
      costs,
      context,
      backend: drive.blk,
      devName: name,
      autoNumQueues: spec.smp.cpus,
      props: dev.props,
      onError: (message) => transport?.deviceError(transport.queues[0], message),
    });
    if (E.isLeft(model)) return E.left({ _tag: 'Device', dev: name, message: propErrorMessage(model.left) });
    const slot = dev.addr ?? nextSlot;
    nextSlot = Math.max(nextSlot, slot + 1);
    const t = createVirtioPci({ kvm, sim, trace, costs, mem, model: model.right, props: { vectors: dev.vectors, ioeventfd: dev.ioeventfd }, devName: name, bus: pciHost.bus, slot });
    if (E.isLeft(t)) return E.left({ _tag: 'Device', dev: name, message: virtioPciErrorMessage(t.left) });
    transport = t.right;
    devices.push({ spec: dev, name, model: model.right, transport });
  }
  return E.right({ kvm, mainLoop, iothreads, pciHost, drives, devices, storage });
}
