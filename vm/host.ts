/**
 * The host half of a VM, wired from a VmSpec: KVM with its vCPUs, QEMU's main loop (the
 * BQL holder) and iothreads, the i440FX PCI host, the block graphs behind the drives,
 * and for each `-device` its model: a virtio-blk-pci or virtio-scsi-pci in its virtio-pci
 * transport (slots in command-line order from 2, or the `addr=` given), a scsi-hd or
 * scsi-cd on the bus of the HBA it names.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestMemory } from '../hw/memory.js';
import type { IoErrorStop } from '../host/devices/block-error.js';
import { createScsiDisk, scsiDiskErrorMessage, type ScsiDisk } from '../host/devices/scsi-disk/index.js';
import { createVirtioBlk, propErrorMessage, type VirtioBlk } from '../host/devices/virtio-blk/index.js';
import { createVirtioScsi, virtioScsiPropErrorMessage, type VirtioScsi } from '../host/devices/virtio-scsi/index.js';
import type { VirtioDeviceModel } from '../host/devices/virtio/types.js';
import { I440fxHost } from '../host/devices/pci/i440fx.js';
import { createVirtioPci, virtioPciErrorMessage } from '../host/devices/virtio-pci/options.js';
import type { VirtioPciTransport } from '../host/devices/virtio-pci/virtio-pci.js';
import { KvmVm } from '../host/kvm-exits/kvm.js';
import { openBlockGraph, type BlockBackend, type BlockEnv, type BlockGraphSpec, type OpenedDrive } from '../host/storage/index.js';
import { ExecutionContext } from '../sim/context.js';
import type { CostModel } from '../sim/costs.js';
import type { Simulator } from '../sim/simulator.js';
import type { Trace } from '../sim/trace.js';
import { scsiBusNames, type DeviceSpec, type DriveSpec, type PciDeviceSpec, type ScsiDiskSpec, type VirtioBlkPciSpec, type VirtioScsiPciSpec, type VmSpec } from './spec.js';
import type { VmError } from './errors.js';
import { driveShareMessage } from './cmdline/block-perm.js';

export interface HostDevice {
  spec: VirtioBlkPciSpec;
  name: string;
  model: VirtioBlk;
  transport: VirtioPciTransport;
}

/** A virtio-scsi-pci HBA, its SCSI bus (`busName`) and the devices on it. */
export interface HostScsiHba {
  spec: VirtioScsiPciSpec;
  name: string;
  busName: string;
  model: VirtioScsi;
  transport: VirtioPciTransport;
  disks: HostScsiDisk[];
}

/** A scsi-hd or scsi-cd on an HBA's bus. */
export interface HostScsiDisk {
  spec: ScsiDiskSpec;
  name: string;
  model: ScsiDisk;
  hba: HostScsiHba;
}

export interface Host {
  kvm: KvmVm;
  mainLoop: ExecutionContext;
  iothreads: Map<string, ExecutionContext>;
  pciHost: I440fxHost;
  drives: Map<string, OpenedDrive>;
  /** The virtio-blk-pci devices, in command-line order. */
  devices: HostDevice[];
  /** The virtio-scsi-pci HBAs, in command-line order, with their SCSI devices. */
  scsiHbas: HostScsiHba[];
  /** The storage devices' next free PCI slot (QEMU's first free slot from 2). */
  nextSlot: number;
  /** The drives and the clock they run on; a reboot keeps them (vm/power.ts). */
  storage: HostStorage;
  /** A device's rerror/werror policy stopped a request: the machine stops the VM (vm/runstate.ts sets this). */
  ioErrorStop: ((e: IoErrorStop) => void) | undefined;
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
  /**
   * The BlockBackends of the devices that share a -blockdev node with another device, by
   * device name (the node's first device uses the drive's own backend).
   */
  sharedBackends: Map<string, BlockBackend>;
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
  return E.right({ env, drives, sharedBackends: new Map() });
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

/** What building one device needs. */
export interface BuildEnv {
  readonly spec: VmSpec;
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
  readonly mem: GuestMemory;
  readonly host: Host;
}

/**
 * Build the host for `spec`: KVM, QEMU's contexts and devices, over `storage` (opened
 * here when not given; a reboot passes the storage the previous machine used).
 */
export function buildHost(spec: VmSpec, sim: Simulator, trace: Trace, costs: CostModel, mem: GuestMemory, given?: HostStorage): E.Either<VmError, Host> {
  const opened = given ? E.right(given) : openHostStorage(spec, sim, trace, costs);
  if (E.isLeft(opened)) return opened;
  const storage = opened.right;
  const mainLoop = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
  const kvm = new KvmVm(sim, trace, costs, spec.kvm, mainLoop, spec.smp.cpus);
  const iothreads = new Map(spec.iothreads.map((t) => [t.id, new ExecutionContext(sim, trace, `iothread:${t.id}`, 'iothread')] as const));
  const host: Host = { kvm, mainLoop, iothreads, pciHost: new I440fxHost(kvm), drives: storage.drives, devices: [], scsiHbas: [], nextSlot: 2, storage, ioErrorStop: undefined };
  const env: BuildEnv = { spec, sim, trace, costs, mem, host };
  const busNames = new Map(scsiBusNames(spec.devices).map((b) => [b.hba, b.bus] as const));
  for (const [i, dev] of spec.devices.entries()) {
    const shared = driveShareMessage(spec.drives, spec.devices.slice(0, i), dev);
    if (shared !== undefined) return E.left({ _tag: 'Device', dev: dev.id ?? `${dev.driver}${i}`, message: shared });
    let r: E.Either<VmError, unknown>;
    switch (dev.driver) {
      case 'virtio-blk-pci':
        r = buildVirtioBlkPci(env, dev, dev.id ?? `virtio-blk${i}`);
        break;
      case 'virtio-scsi-pci':
        r = buildVirtioScsiPci(env, dev, dev.id ?? `virtio-scsi${i}`, busNames.get(dev)!);
        break;
      case 'scsi-hd':
      case 'scsi-cd':
        r = buildScsiDisk(env, dev, dev.id ?? `${dev.driver}${i}`, false);
        break;
    }
    if (E.isLeft(r)) return r;
  }
  return E.right(host);
}

/**
 * The BlockBackend device `name` uses: the drive's own, unless an earlier device of the
 * spec uses it already (a -blockdev node with share-rw): then one of its own over the
 * same node, as QEMU gives each device on a node (its own write-cache switch, its own
 * requests in flight), made once and kept across reboots.
 */
function backendOf(env: BuildEnv, dev: DeviceSpec, name: string, drive: OpenedDrive): BlockBackend {
  const first = env.spec.devices.find((d) => 'drive' in d && d.drive !== undefined && d.drive === (dev as { drive?: string }).drive);
  if (first === undefined || first === dev) return drive.blk;
  const shared = env.host.storage.sharedBackends;
  let blk = shared.get(name);
  if (blk === undefined) {
    const made = drive.graph.newBackend(drive.blk.root);
    // The node exists (the drive's backend holds it): newBackend cannot refuse it.
    if (E.isLeft(made)) return drive.blk;
    blk = made.right;
    shared.set(name, blk);
  }
  return blk;
}

function contextOf(env: BuildEnv, name: string, iothread: string | undefined): E.Either<VmError, ExecutionContext> {
  if (iothread === undefined) return E.right(env.host.mainLoop);
  const t = env.host.iothreads.get(iothread);
  return t ? E.right(t) : E.left({ _tag: 'NoSuchIothread', dev: name, iothread });
}

/** The virtio-pci transport around `model`, in the spec's slot or the next free one. */
function plugPci(env: BuildEnv, name: string, model: VirtioDeviceModel, dev: PciDeviceSpec): E.Either<VmError, VirtioPciTransport> {
  const { host } = env;
  const slot = dev.addr ?? host.nextSlot;
  host.nextSlot = Math.max(host.nextSlot, slot + 1);
  const t = createVirtioPci({ kvm: host.kvm, sim: env.sim, trace: env.trace, costs: env.costs, mem: env.mem, model, props: { vectors: dev.vectors, ioeventfd: dev.ioeventfd }, devName: name, bus: host.pciHost.bus, slot });
  return E.isLeft(t) ? E.left({ _tag: 'Device', dev: name, message: virtioPciErrorMessage(t.left) }) : t;
}

/**
 * Realize a virtio device model and plug it in a PCI slot. `make` gets the device's
 * virtio_error hook, which reaches the transport once it exists (the model is made
 * first, as QEMU realizes the device before the proxy); `propError` renders its errors.
 */
function realizeVirtioPci<M extends VirtioDeviceModel, Err>(
  env: BuildEnv,
  name: string,
  dev: PciDeviceSpec,
  make: (onError: (message: string) => void) => E.Either<Err, M>,
  propError: (e: Err) => string,
): E.Either<VmError, { model: M; transport: VirtioPciTransport }> {
  let transport: VirtioPciTransport | undefined;
  const model = make((message) => transport?.deviceError(transport.queues[0], message));
  if (E.isLeft(model)) return E.left({ _tag: 'Device', dev: name, message: propError(model.left) });
  const t = plugPci(env, name, model.right, dev);
  if (E.isLeft(t)) return t;
  transport = t.right;
  return E.right({ model: model.right, transport });
}

function buildVirtioBlkPci(env: BuildEnv, dev: VirtioBlkPciSpec, name: string): E.Either<VmError, HostDevice> {
  const drive = env.host.drives.get(dev.drive);
  if (!drive) return E.left({ _tag: 'NoSuchDrive', dev: name, drive: dev.drive });
  const context = contextOf(env, name, dev.iothread);
  if (E.isLeft(context)) return context;
  const r = realizeVirtioPci(
    env,
    name,
    dev,
    (onError) =>
      createVirtioBlk({
        sim: env.sim,
        trace: env.trace,
        costs: env.costs,
        context: context.right,
        backend: backendOf(env, dev, name, drive),
        devName: name,
        autoNumQueues: env.spec.smp.cpus,
        props: dev.props,
        onError,
        onStop: (e) => env.host.ioErrorStop?.(e),
      }),
    propErrorMessage,
  );
  if (E.isLeft(r)) return r;
  const d: HostDevice = { spec: dev, name, model: r.right.model, transport: r.right.transport };
  env.host.devices.push(d);
  return E.right(d);
}

function buildVirtioScsiPci(env: BuildEnv, dev: VirtioScsiPciSpec, name: string, busName: string): E.Either<VmError, HostScsiHba> {
  const context = contextOf(env, name, dev.iothread);
  if (E.isLeft(context)) return context;
  const r = realizeVirtioPci(
    env,
    name,
    dev,
    (onError) =>
      createVirtioScsi({
        sim: env.sim,
        trace: env.trace,
        costs: env.costs,
        context: context.right,
        devName: name,
        cpus: env.spec.smp.cpus,
        props: dev.props,
        onError,
      }),
    virtioScsiPropErrorMessage,
  );
  if (E.isLeft(r)) return r;
  const hba: HostScsiHba = { spec: dev, name, busName, model: r.right.model, transport: r.right.transport, disks: [] };
  env.host.scsiHbas.push(hba);
  return E.right(hba);
}

/**
 * A scsi-hd or scsi-cd on the HBA that owns its bus: its drive's completions run on the
 * HBA's context (QEMU moves the BlockBackend to the HBA's AioContext). `hot`: device_add
 * (the HBA raises its hot-plug event) rather than a cold plug.
 */
export function buildScsiDisk(env: BuildEnv, dev: ScsiDiskSpec, name: string, hot: boolean): E.Either<VmError, HostScsiDisk> {
  const hba = env.host.scsiHbas.find((h) => h.busName === dev.bus);
  if (!hba) return E.left({ _tag: 'Device', dev: name, message: `Bus '${dev.bus}' not found` });
  const drive = dev.drive === undefined ? undefined : env.host.drives.get(dev.drive);
  if (dev.drive !== undefined && !drive) return E.left({ _tag: 'NoSuchDrive', dev: name, drive: dev.drive });
  const made = createScsiDisk({
    kind: dev.driver,
    sim: env.sim,
    trace: env.trace,
    costs: env.costs,
    context: hba.model.context,
    ...(drive ? { backend: backendOf(env, dev, name, drive) } : {}),
    ...(dev.drive !== undefined ? { driveId: dev.drive } : {}),
    name,
    props: dev.props,
    onStop: (e) => env.host.ioErrorStop?.(e),
  });
  if (E.isLeft(made)) return E.left({ _tag: 'Device', dev: name, message: scsiDiskErrorMessage(dev.driver, made.left) });
  const placed = hot ? hba.model.hotplug(made.right) : hba.model.plug(made.right);
  if (E.isLeft(placed)) return E.left({ _tag: 'Device', dev: name, message: placed.left.message });
  const d: HostScsiDisk = { spec: dev, name, model: made.right, hba };
  hba.disks.push(d);
  return E.right(d);
}

/** What device_add needs to build on a running host. */
export function hostBuildEnv(spec: VmSpec, sim: Simulator, trace: Trace, costs: CostModel, mem: GuestMemory, host: Host): BuildEnv {
  return { spec, sim, trace, costs, mem, host };
}
