/**
 * What can be wrong with a QEMU command line, as one tagged union with its messages beside
 * it. Messages are QEMU's own wording where QEMU has one (hw/block/virtio-blk.c,
 * hw/core/qdev-properties*.c, util/qemu-option.c, blockdev.c, block.c), prefixed like
 * QEMU's `error_report`: `qemu-system-x86_64: <the option as given>: <what is wrong>`.
 *
 * `loc` is always the option as the user wrote it (`-device virtio-blk-pci,foo=1`).
 */
import { permConflictMessage } from './block-perm.js';

export const QEMU_PROGRAM = 'qemu-system-x86_64';

/** The hint QEMU prints after a bad size (util/qemu-option.c). */
export const SIZE_HINT =
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.';

/** The hint QEMU prints after a bad identifier (util/qemu-option.c, `id_wellformed`). */
export const ID_HINT = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

export type IdKind = 'drive' | 'device' | 'object';

export type CmdlineError =
  /** An option iopath (and QEMU) does not know. */
  | { _tag: 'InvalidOption'; loc: string }
  | { _tag: 'MissingArgument'; loc: string }
  /** A key an option does not take (QemuOpts). */
  | { _tag: 'InvalidParameter'; loc: string; param: string }
  | { _tag: 'MissingParameter'; loc: string; param: string }
  /** A value of the wrong type, e.g. `expects uint16`, `expects 'on' or 'off'`. */
  | { _tag: 'ParameterExpects'; loc: string; param: string; expects: string; hint?: string }
  | { _tag: 'ValueOutOfRange'; loc: string; param: string; value: string }
  /** A device (or object) property the type does not have. */
  | { _tag: 'PropertyNotFound'; loc: string; type: string; prop: string }
  | { _tag: 'PropertyValueBad'; loc: string; type: string; prop: string; value: string }
  | { _tag: 'PropertyValueOutOfRange'; loc: string; type: string; prop: string; value: number; min: number; max: number }
  | { _tag: 'PropertyValueNotPowerOf2'; loc: string; type: string; prop: string; value: number }
  | { _tag: 'BadIdentifier'; loc: string; param: 'id' | 'node-name'; value: string }
  | { _tag: 'DuplicateId'; loc: string; id: string; kind: IdKind }
  | { _tag: 'DuplicateNodeName'; loc: string; name: string }
  /** A -blockdev node-name equal to a -drive id, or the other way round. */
  | { _tag: 'NodeNameConflict'; loc: string; name: string; newcomer: 'node-name' | 'drive-id' }
  | { _tag: 'RootNodeNameMissing'; loc: string }
  | { _tag: 'KeyvalInconsistent'; loc: string; key: string }
  | { _tag: 'KeyvalSyntax'; loc: string; detail: string }
  | { _tag: 'JsonSyntax'; loc: string; detail: string }
  | { _tag: 'BadDriveOption'; loc: string; option: 'cache' | 'aio' | 'discard' }
  | { _tag: 'AioNativeNeedsDirect'; loc: string }
  | { _tag: 'DriverAndFormat'; loc: string }
  | { _tag: 'UnsupportedBus'; loc: string; bus: string }
  | { _tag: 'InvalidDeviceModel'; loc: string; name: string }
  | { _tag: 'InvalidObjectType'; loc: string; type: string }
  | { _tag: 'DriveNotSet'; loc: string }
  | { _tag: 'DriveNotFound'; loc: string; type: string; value: string }
  | { _tag: 'DriveInUse'; loc: string; drive: string; automatic: boolean }
  | { _tag: 'DriveEmpty'; loc: string }
  /** Two devices on one -blockdev node, a writer among them, not both share-rw=on (block-perm.ts). */
  | { _tag: 'PermissionConflict'; loc: string; node: string; perms: string; required: string; unshared: string }
  | { _tag: 'IothreadNotFound'; loc: string; id: string }
  | { _tag: 'NumQueuesZero'; loc: string }
  | { _tag: 'NumQueuesTooMany'; loc: string; value: number; max: number }
  | { _tag: 'QueueSizeTooSmall'; loc: string; value: number }
  | { _tag: 'QueueSizeNotPowerOf2'; loc: string; value: number; max: number }
  | { _tag: 'BlockSizeMismatch'; loc: string }
  | { _tag: 'IothreadNeedsIoeventfd'; loc: string }
  /** Another of the device model's realize checks failed; `message` is its QEMU wording. */
  | { _tag: 'DeviceRealize'; loc: string; message: string }
  | { _tag: 'PciSlotInUse'; loc: string; slot: number; type: string; holder: string; holderId?: string }
  /** `bus=` names no bus (qdev_device_add's qbus_find). */
  | { _tag: 'BusNotFound'; loc: string; bus: string }
  /** No `bus=` and no bus of the type the device needs. */
  | { _tag: 'NoBusForDevice'; loc: string; busType: 'SCSI' | 'PCI'; driver: string }
  /** `bus=` names a bus of another type. */
  | { _tag: 'BusWrongType'; loc: string; driver: string; busType: 'SCSI' | 'PCI' }
  /** The SCSI bus refused the device's address (scsi_qdev_realize); `message` is QEMU's. */
  | { _tag: 'ScsiAddress'; loc: string; message: string }
  | { _tag: 'SmpCpus'; loc: string; cpus: number; bound: 'min' | 'max'; limit: number }
  /** Valid QEMU that iopath does not model (yet). */
  | { _tag: 'NotModelled'; loc: string; what: string }
  /** `help` or `?` was asked for: not a failure; `text` goes to stdout and the CLI exits 0. */
  | { _tag: 'HelpRequested'; text: string };

/** True for the one variant that is not a mistake. */
export function isHelp(e: CmdlineError): e is Extract<CmdlineError, { _tag: 'HelpRequested' }> {
  return e._tag === 'HelpRequested';
}

/** The message QEMU would print, prefixed with the program and the option at fault. */
export function cmdlineErrorMessage(e: CmdlineError): string {
  if (e._tag === 'HelpRequested') return e.text;
  return `${QEMU_PROGRAM}: ${e.loc}: ${detail(e)}`;
}

function detail(e: Exclude<CmdlineError, { _tag: 'HelpRequested' }>): string {
  switch (e._tag) {
    case 'InvalidOption':
      return 'invalid option';
    case 'MissingArgument':
      return 'requires an argument';
    case 'InvalidParameter':
      return `Invalid parameter '${e.param}'`;
    case 'MissingParameter':
      return `Parameter '${e.param}' is missing`;
    case 'ParameterExpects':
      return `Parameter '${e.param}' expects ${e.expects}${e.hint ? `\n${e.hint}` : ''}`;
    case 'ValueOutOfRange':
      return `Value '${e.value}' is out of range for parameter '${e.param}'`;
    case 'PropertyNotFound':
      return `Property '${e.type}.${e.prop}' not found`;
    case 'PropertyValueBad':
      return `Property '${e.type}.${e.prop}' doesn't take value '${e.value}'`;
    case 'PropertyValueOutOfRange':
      return `Property ${e.type}.${e.prop} doesn't take value ${e.value} (minimum: ${e.min}, maximum: ${e.max})`;
    case 'PropertyValueNotPowerOf2':
      return `Property ${e.type}.${e.prop} doesn't take value '${e.value}', it's not a power of 2`;
    case 'BadIdentifier':
      return e.param === 'id'
        ? `Parameter 'id' expects an identifier\n${ID_HINT}`
        : `Invalid node-name: '${e.value}'`;
    case 'DuplicateId':
      return `Duplicate ID '${e.id}' for ${e.kind}`;
    case 'DuplicateNodeName':
      return `Duplicate nodes with node-name='${e.name}'`;
    case 'NodeNameConflict':
      return e.newcomer === 'node-name'
        ? `node-name=${e.name} is conflicting with a device id`
        : `Device name '${e.name}' conflicts with an existing node name`;
    case 'RootNodeNameMissing':
      return "'node-name' must be specified for the root node";
    case 'KeyvalInconsistent':
      return `Parameters '${e.key}.*' used inconsistently`;
    case 'KeyvalSyntax':
      return e.detail;
    case 'JsonSyntax':
      return `JSON parse error, ${e.detail}`;
    case 'BadDriveOption':
      return e.option === 'discard' ? 'Invalid discard option' : `invalid ${e.option} option`;
    case 'AioNativeNeedsDirect':
      return 'aio=native was specified, but it requires cache.direct=on, which was not specified.';
    case 'DriverAndFormat':
      return "Cannot specify both 'driver' and 'format'";
    case 'UnsupportedBus':
      return `unsupported bus type '${e.bus}'`;
    case 'InvalidDeviceModel':
      return `'${e.name}' is not a valid device model name`;
    case 'InvalidObjectType':
      return `invalid object type: ${e.type}`;
    case 'DriveNotSet':
      return 'drive property not set';
    case 'DriveNotFound':
      return `Property '${e.type}.drive' can't find value '${e.value}'`;
    case 'DriveInUse':
      return e.automatic
        ? `Drive '${e.drive}' is already in use because it has been automatically connected to another device (did you need 'if=none' in the drive options?)`
        : `Drive '${e.drive}' is already in use by another device`;
    case 'DriveEmpty':
      return 'Device needs media, but drive is empty';
    case 'PermissionConflict':
      return permConflictMessage(e);
    case 'IothreadNotFound':
      return `Could not find iothread '${e.id}'`;
    case 'NumQueuesZero':
      return 'num-queues property must be larger than 0';
    case 'NumQueuesTooMany':
      return `num-queues property must be at most ${e.max} (got ${e.value})`;
    case 'QueueSizeTooSmall':
      return `invalid queue-size property (${e.value}), must be > 2`;
    case 'QueueSizeNotPowerOf2':
      return `invalid queue-size property (${e.value}), must be a power of 2 (max ${e.max})`;
    case 'BlockSizeMismatch':
      return 'logical_block_size > physical_block_size not supported';
    case 'IothreadNeedsIoeventfd':
      return 'ioeventfd is required for iothread';
    case 'DeviceRealize':
      return e.message;
    case 'PciSlotInUse':
      return `PCI: slot ${e.slot} function 0 not available for ${e.type}, in use by ${e.holder},id=${e.holderId ?? '(null)'}`;
    case 'BusNotFound':
      return `Bus '${e.bus}' not found`;
    case 'NoBusForDevice':
      return `No '${e.busType}' bus found for device '${e.driver}'`;
    case 'BusWrongType':
      return `Device '${e.driver}' can't go on ${e.busType} bus`;
    case 'ScsiAddress':
      return e.message;
    case 'SmpCpus':
      return e.bound === 'min'
        ? `Invalid SMP CPUs ${e.cpus}. The min CPUs supported by machine 'q35' is ${e.limit}`
        : `Invalid SMP CPUs ${e.cpus}. The max CPUs supported by machine 'q35' is ${e.limit}`;
    case 'NotModelled':
      return `${e.what} is not modelled by iopath`;
  }
}
