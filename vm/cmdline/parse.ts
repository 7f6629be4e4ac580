/**
 * `parseQemuArgs`: a QEMU command line to a VmSpec, or the first mistake in it, worded as
 * QEMU words it. Nothing here throws on user input.
 *
 * Like QEMU (softmmu/vl.c), it reads in phases: the whole argv is scanned first (unknown
 * options, missing arguments and help requests surface here), then the machine options,
 * then `-object`s, then the block backends (`-drive`, `-blockdev`), then the `-device`s, so
 * a device may name a drive defined later on the line.
 */
import * as E from 'fp-ts/lib/Either.js';
import { defaultVmSpec, isPciDevice, scsiBusNames, type DeviceSpec, type DriveSpec, type VmSpec } from '../spec.js';
import { drivePermConflict, permConflictError } from './block-perm.js';
import { driveFromBlockdev, nodeNames, parseBlockdev } from './blockdev.js';
import { deviceModelOf } from './devices.js';
import { deviceHelpRequest, devicePairs, parseDevice } from './device-option.js';
import { parseDrive } from './drive.js';
import type { CmdlineError } from './errors.js';
import { parseAccel, parseCpu, parseMachine, parseMem, parseSmp } from './machine.js';
import { parseObject } from './object.js';
import type { PropEnv } from './props.js';
import { ScsiAddressBook } from './scsi-address.js';

type Phase = 'machine' | 'object' | 'block' | 'device' | 'ignore' | 'not-modelled';

export interface OptionDecl {
  readonly name: string;
  readonly arg: boolean;
  readonly phase: Phase;
  readonly help: string;
}

const opt = (name: string, arg: boolean, phase: Phase, help: string): OptionDecl => ({ name, arg, phase, help });

/** Every option iopath recognises, declared once. */
export const QEMU_OPTIONS: readonly OptionDecl[] = [
  opt('m', true, 'machine', 'guest RAM: -m 4G, -m 512 (MiB), -m size=1G'),
  opt('mem-prealloc', false, 'machine', 'commit host memory for all of guest RAM before the guest starts'),
  opt('smp', true, 'machine', 'vCPUs: -smp 4, -smp cpus=4, -smp sockets=1,cores=2,threads=2'),
  opt('accel', true, 'machine', 'kvm (the only accelerator modelled), with x-apicv=, x-halt-poll-ns='),
  opt('machine', true, 'machine', 'machine type, ignored; accel=kvm accepted'),
  opt('M', true, 'machine', 'same as -machine'),
  opt('enable-kvm', false, 'machine', 'same as -accel kvm'),
  opt('cpu', true, 'machine', 'CPU model, ignored except kvm-pv-eoi=on|off'),
  opt('object', true, 'object', 'iothread,id=ID (memory backends are accepted and ignored)'),
  opt('drive', true, 'block', 'if=none|virtio,id=ID,file=…,format=…,cache=…,aio=…,discard=…,readonly=on'),
  opt('blockdev', true, 'block', 'a block node tree, dotted or JSON'),
  opt('device', true, 'device', 'virtio-blk-pci,drive=ID,… (-device virtio-blk-pci,help lists the properties)'),
  ...['nographic', 'nodefaults', 'no-user-config', 'daemonize', 'no-reboot', 'no-shutdown', 'S', 'no-hpet'].map((n) =>
    opt(n, false, 'ignore', 'accepted and ignored'),
  ),
  ...['name', 'display', 'serial', 'monitor', 'qmp', 'vnc', 'vga', 'boot', 'pidfile', 'rtc'].map((n) =>
    opt(n, true, 'ignore', 'accepted and ignored'),
  ),
  ...['snapshot', 'usb'].map((n) => opt(n, false, 'not-modelled', 'not modelled')),
  ...[
    'hda', 'hdb', 'hdc', 'hdd', 'cdrom', 'netdev', 'nic', 'kernel', 'initrd', 'append', 'global', 'fsdev', 'virtfs',
    'numa', 'incoming', 'loadvm', 'bios', 'mem-path', 'chardev', 'usbdevice', 'audiodev',
  ].map((n) => opt(n, true, 'not-modelled', 'not modelled')),
];

interface Entry {
  readonly decl: OptionDecl;
  readonly arg: string;
  readonly loc: string;
}

/** Parse a QEMU command line (without the program name; a leading `qemu-system-…` is skipped). */
export function parseQemuArgs(argv: readonly string[]): E.Either<CmdlineError, VmSpec> {
  const scanned = scan(argv);
  if (E.isLeft(scanned)) return scanned;
  const entries = scanned.right;
  const spec = defaultVmSpec();
  for (const e of entries.filter((x) => x.decl.phase === 'machine' || x.decl.phase === 'not-modelled')) {
    const r = machineOption(e, spec);
    if (E.isLeft(r)) return r;
  }
  const objectIds = new Set<string>();
  for (const e of entries.filter((x) => x.decl.phase === 'object')) {
    const o = parseObject(e.arg, e.loc);
    if (E.isLeft(o)) return o;
    if (objectIds.has(o.right.id)) return E.left({ _tag: 'DuplicateId', loc: e.loc, id: o.right.id, kind: 'object' });
    objectIds.add(o.right.id);
    if (o.right.type === 'iothread') spec.iothreads.push({ id: o.right.id });
  }
  const block = blockBackends(entries.filter((x) => x.decl.phase === 'block'), spec);
  if (E.isLeft(block)) return block;
  const devs = devices(entries.filter((x) => x.decl.phase === 'device'), spec, block.right);
  if (E.isLeft(devs)) return devs;
  return E.right(spec);
}

function scan(argv: readonly string[]): E.Either<CmdlineError, Entry[]> {
  const out: Entry[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('-')) {
      if (i === 0 && /qemu-system-/.test(word)) continue;
      return E.left({ _tag: 'NotModelled', loc: word, what: "a bare disk image (QEMU's -hda, an IDE disk)" });
    }
    const name = word.replace(/^--?/, '');
    const decl = QEMU_OPTIONS.find((d) => d.name === name);
    if (!decl) return E.left({ _tag: 'InvalidOption', loc: word });
    if (!decl.arg) {
      out.push({ decl, arg: '', loc: word });
      continue;
    }
    if (i + 1 >= argv.length) return E.left({ _tag: 'MissingArgument', loc: word });
    const arg = argv[++i];
    const loc = `${word} ${arg}`;
    if (decl.name === 'device') {
      const help = deviceHelpRequest(arg, loc);
      if (help !== undefined) return E.left({ _tag: 'HelpRequested', text: help });
    }
    out.push({ decl, arg, loc });
  }
  return E.right(out);
}

function machineOption(e: Entry, spec: VmSpec): E.Either<CmdlineError, void> {
  switch (e.decl.name) {
    case 'm': {
      const r = parseMem(e.arg, e.loc);
      if (E.isLeft(r)) return r;
      spec.memBytes = r.right;
      return E.right(undefined);
    }
    case 'smp': {
      const r = parseSmp(e.arg, e.loc);
      if (E.isLeft(r)) return r;
      spec.smp = { cpus: r.right };
      return E.right(undefined);
    }
    case 'accel':
      return parseAccel(e.arg, e.loc, spec.kvm);
    case 'machine':
    case 'M':
      return parseMachine(e.arg, e.loc);
    case 'cpu':
      return parseCpu(e.arg, e.loc, spec.kvm);
    case 'mem-prealloc':
      spec.memPrealloc = true;
      return E.right(undefined);
    case 'enable-kvm':
      return E.right(undefined);
    default:
      return E.left({ _tag: 'NotModelled', loc: e.loc, what: `-${e.decl.name}` });
  }
}

export interface DriveState {
  inUse: boolean;
  automatic: boolean;
  empty: boolean;
}

/** `-drive` and `-blockdev` in order, with QEMU's namespace checks between them. */
function blockBackends(entries: readonly Entry[], spec: VmSpec): E.Either<CmdlineError, Map<string, DriveState>> {
  const state = new Map<string, DriveState>();
  const driveIds = new Set<string>();
  const nodes = new Set<string>();
  const counters = { none: 0, virtio: 0 };
  for (const e of entries) {
    let drive: DriveSpec;
    let empty = false;
    let implicitDevice = false;
    if (e.decl.name === 'blockdev') {
      const tree = parseBlockdev(e.arg, e.loc);
      if (E.isLeft(tree)) return tree;
      for (const n of nodeNames(tree.right)) {
        if (nodes.has(n)) return E.left({ _tag: 'DuplicateNodeName', loc: e.loc, name: n });
        if (driveIds.has(n)) return E.left({ _tag: 'NodeNameConflict', loc: e.loc, name: n, newcomer: 'node-name' });
        nodes.add(n);
      }
      const d = driveFromBlockdev(tree.right, e.loc);
      if (E.isLeft(d)) return d;
      drive = d.right;
    } else {
      const p = parseDrive(e.arg, e.loc, (iface) => `${iface}${counters[iface]++}`);
      if (E.isLeft(p)) return p;
      ({ drive, empty, implicitDevice } = p.right);
      if (driveIds.has(drive.id)) return E.left({ _tag: 'DuplicateId', loc: e.loc, id: drive.id, kind: 'drive' });
      if (nodes.has(drive.id)) return E.left({ _tag: 'NodeNameConflict', loc: e.loc, name: drive.id, newcomer: 'drive-id' });
      driveIds.add(drive.id);
    }
    spec.drives.push(drive);
    const st: DriveState = { inUse: false, automatic: false, empty };
    state.set(drive.id, st);
    if (implicitDevice) {
      // if=virtio: QEMU creates the device with the drive, before any -device.
      const r = addDevice(`virtio-blk-pci,drive=${drive.id}`, e.loc, spec, state);
      if (E.isLeft(r)) return r;
      st.automatic = true;
    }
  }
  return E.right(state);
}

function devices(entries: readonly Entry[], spec: VmSpec, drives: Map<string, DriveState>): E.Either<CmdlineError, void> {
  const scsi = new ScsiAddressBook();
  for (const e of entries) {
    const r = addDevice(e.arg, e.loc, spec, drives, scsi);
    if (E.isLeft(r)) return r;
  }
  return E.right(undefined);
}

/** What a `-device` may refer to: the drives, the iothreads, the SCSI buses so far. */
export function deviceEnv(spec: VmSpec, drives: Map<string, DriveState>): PropEnv {
  return {
    hasIothread: (id) => spec.iothreads.some((t) => t.id === id),
    drive: (id) => {
      const st = drives.get(id);
      return st && { ...st, node: spec.drives.some((d) => d.id === id && d.source === 'blockdev') };
    },
    scsiBuses: () => scsiBusNames(spec.devices).map((b) => b.bus),
  };
}

/**
 * Parse one `-device` and add it to `spec`, with the checks that need the devices before it:
 * a duplicate id, a PCI slot in use, a SCSI address in use. Exported for device_add.
 */
export function addDevice(text: string, loc: string, spec: VmSpec, drives: Map<string, DriveState>, scsi = new ScsiAddressBook()): E.Either<CmdlineError, DeviceSpec> {
  const env = deviceEnv(spec, drives);
  // QEMU refuses a duplicate id before it looks at any property.
  const pairs = devicePairs(text, loc);
  if (E.isLeft(pairs)) return pairs;
  const id = pairs.right.id;
  if (id !== undefined && spec.devices.some((d) => d.id === id)) return E.left({ _tag: 'DuplicateId', loc, id, kind: 'device' });
  const made = parseDevice(text, loc, env, { cpus: spec.smp.cpus });
  if (E.isLeft(made)) return made;
  const dev = made.right;
  if (isPciDevice(dev) && dev.addr !== undefined) {
    const holder = spec.devices.filter(isPciDevice).find((d) => d.addr === dev.addr);
    if (holder) {
      return E.left({
        _tag: 'PciSlotInUse',
        loc,
        slot: dev.addr,
        type: deviceModelOf(dev).name,
        holder: deviceModelOf(holder).name,
        ...(holder.id !== undefined ? { holderId: holder.id } : {}),
      });
    }
  }
  if (dev.driver === 'scsi-hd' || dev.driver === 'scsi-cd') {
    const placed = scsi.place(spec.devices, dev, loc);
    if (E.isLeft(placed)) return placed;
  }
  // Realize: the device's BlockBackend asks for its permissions on the node.
  const conflict = drivePermConflict(spec.drives, spec.devices, dev);
  if (conflict !== undefined) return E.left(permConflictError(conflict, loc));
  if ('drive' in dev && dev.drive !== undefined) drives.get(dev.drive)!.inUse = true;
  spec.devices.push(dev);
  return E.right(dev);
}
