/**
 * Who may use a block node: QEMU's rules for a device's `drive=` (QEMU 7.2,
 * hw/core/qdev-properties-system.c set_drive_helper, hw/block/block.c
 * blkconf_apply_backend_options, block.c bdrv_parent_perms_conflict / bdrv_a_allow_b).
 *
 * - A `-drive` is a named BlockBackend: one device only. A second one is refused when the
 *   property is set ("Drive 'd0' is already in use by another device", prop-types.ts).
 * - A `-blockdev` node may be named by several devices: each gets a BlockBackend of its own
 *   over the node. At realize each backend asks for its permissions: consistent read, and
 *   write unless the device or the node is read-only; it shares consistent read and
 *   write-unchanged, and write only with `share-rw=on`. The node then checks every pair
 *   of its users, newest first: a user needing what another does not share is a conflict,
 *   and the device is refused with QEMU's message.
 *
 * So two scsi-hds on one node (two paths to one LUN) need `share-rw=on` on both; a
 * scsi-cd (never a writer) next to a writer needs it too, since it shares no write.
 */
import type { DeviceSpec, DriveSpec } from '../spec.js';
import type { CmdlineError } from './errors.js';

/** BLK_PERM_* (include/block/block-common.h), the ones a device's BlockBackend uses. */
export const BLK_PERM_CONSISTENT_READ = 0x01;
export const BLK_PERM_WRITE = 0x02;
export const BLK_PERM_WRITE_UNCHANGED = 0x04;
export const BLK_PERM_RESIZE = 0x08;

/** bdrv_perm_names' table, in its order. */
const PERM_NAMES: readonly [number, string][] = [
  [BLK_PERM_CONSISTENT_READ, 'consistent read'],
  [BLK_PERM_WRITE, 'write'],
  [BLK_PERM_WRITE_UNCHANGED, 'write unchanged'],
  [BLK_PERM_RESIZE, 'resize'],
];

/** bdrv_perm_names: "write", "consistent read, write"… */
export function permNames(perm: number): string {
  return PERM_NAMES.filter(([bit]) => perm & bit)
    .map(([, name]) => name)
    .join(', ');
}

/** One BlockBackend on a node: who it is (as QEMU describes it), what it needs and shares. */
export interface NodeUser {
  readonly desc: string;
  readonly perm: number;
  readonly shared: number;
}

/** A device that uses a drive. */
type DriveUser = Extract<DeviceSpec, { drive?: string }>;

const usesDrive = (d: DeviceSpec): d is DriveUser => 'drive' in d && d.drive !== undefined;

/**
 * The device the BlockBackend is attached to, as blk_root_get_parent_desc names it: its
 * id, else its QOM path. A virtio-blk-pci's backend belongs to the virtio-blk device
 * inside the proxy (its `virtio-backend` child). A device without an id is
 * /machine/peripheral-anon/device[N], N counting the devices without an id before it.
 */
export function blockDeviceDesc(dev: DeviceSpec, before: readonly DeviceSpec[]): string {
  const anon = `/machine/peripheral-anon/device[${before.filter((d) => d.id === undefined).length}]`;
  if (dev.driver === 'virtio-blk-pci') return `block device '${dev.id !== undefined ? `/machine/peripheral/${dev.id}` : anon}/virtio-backend'`;
  return `block device '${dev.id ?? anon}'`;
}

/** blkconf_apply_backend_options' request for `dev` on `drive`. */
export function nodeUser(dev: DriveUser, drive: DriveSpec, before: readonly DeviceSpec[]): NodeUser {
  const readOnly = drive.readOnly || dev.driver === 'scsi-cd';
  // Disks that can be resized share resize; scsi-cd cannot. No device asks for resize, so it never conflicts.
  const resizable = dev.driver !== 'scsi-cd';
  return {
    desc: blockDeviceDesc(dev, before),
    perm: BLK_PERM_CONSISTENT_READ | (readOnly ? 0 : BLK_PERM_WRITE),
    shared: BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED | (resizable ? BLK_PERM_RESIZE : 0) | (dev.shareRw ? BLK_PERM_WRITE : 0),
  };
}

/** A pair of users that cannot both have the node. */
export interface PermConflict {
  readonly node: string;
  /** What `required` needs and `unshared` does not share. */
  readonly perms: string;
  readonly required: string;
  readonly unshared: string;
}

/**
 * bdrv_parent_perms_conflict over `users`, newest first as the node's parent list holds
 * them: for each ordered pair (a, b), does a share everything b needs?
 */
export function nodePermConflict(node: string, users: readonly NodeUser[]): PermConflict | undefined {
  for (const a of users) {
    for (const b of users) {
      if (a === b) continue;
      const missing = b.perm & ~a.shared;
      if (missing !== 0) return { node, perms: permNames(missing), required: b.desc, unshared: a.desc };
    }
  }
  return undefined;
}

/**
 * The conflict `dev` would make on its drive's node with the devices in `before` (the
 * ones realized already, in order), or undefined. Only -blockdev nodes are shared; a
 * `-drive` with two devices is refused earlier, as QEMU does.
 */
export function drivePermConflict(drives: readonly DriveSpec[], before: readonly DeviceSpec[], dev: DeviceSpec): PermConflict | undefined {
  if (!usesDrive(dev)) return undefined;
  const drive = drives.find((d) => d.id === dev.drive);
  if (drive === undefined) return undefined;
  const users: NodeUser[] = [];
  before.forEach((d, i) => {
    if (usesDrive(d) && d.drive === dev.drive) users.push(nodeUser(d, drive, before.slice(0, i)));
  });
  if (users.length === 0) return undefined;
  return nodePermConflict(drive.id, [nodeUser(dev, drive, before), ...users.reverse()]);
}

/**
 * For a spec built other than from a command line: QEMU's message for `dev`'s use of its
 * drive (a `-drive` taken already, or a permission conflict), or undefined.
 */
export function driveShareMessage(drives: readonly DriveSpec[], before: readonly DeviceSpec[], dev: DeviceSpec): string | undefined {
  if (!usesDrive(dev)) return undefined;
  const drive = drives.find((d) => d.id === dev.drive);
  if (drive === undefined) return undefined;
  if (drive.source === 'drive' && before.some((d) => usesDrive(d) && d.drive === drive.id)) return `Drive '${drive.id}' is already in use by another device`;
  const c = drivePermConflict(drives, before, dev);
  return c && permConflictMessage(c);
}

/** The command-line error for a conflict. */
export function permConflictError(c: PermConflict, loc: string): CmdlineError {
  return { _tag: 'PermissionConflict', loc, ...c };
}

/** bdrv_a_allow_b's message. */
export function permConflictMessage(c: PermConflict): string {
  return (
    `Permission conflict on node '${c.node}': permissions '${c.perms}' are both required by ${c.required} ` +
    `(uses node '${c.node}' as 'root' child) and unshared by ${c.unshared} (uses node '${c.node}' as 'root' child).`
  );
}
