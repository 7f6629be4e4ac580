/**
 * `-device scsi-hd` and `-device scsi-cd`: SCSI devices on a SCSI bus (QEMU hw/scsi/scsi-disk.c,
 * hw/scsi/scsi-bus.c).
 *
 * The device's properties (`channel`, `scsi-id`, `lun`, `serial`, `logical_block_size`,
 * `rerror`, …) come from the model's `SCSI_DISK_PROPS` with their names, defaults and help
 * (scsi-cd has no `removable`, `dpofua`, geometry…: those are scsi-hd's only), each value
 * read by the model's own parser. Declared here: the `drive` and `share-rw` (block
 * properties QEMU declares for every disk; who may share a node is block-perm.ts). The `bus` (`<hba>.0`) is every
 * device's and resolved before a model is created (device-option.ts): it is in the spec as
 * the bus the device ends up on.
 *
 * Realize checks, in QEMU's order: `drive` is required for scsi-hd ("drive property not
 * set") and must have a medium; then the model's property checks (block sizes, geometry).
 * The address (channel, scsi-id, lun: "bad scsi device id", "lun already used by …") is
 * checked against the bus by the parser, which holds the buses (parse.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  SCSI_DISK_PROPS,
  parseScsiDiskProps,
  realizeScsiDiskProps,
  scsiDiskPropErrorMessage,
  type ScsiDiskKind,
  type ScsiDiskPropDecl,
  type ScsiDiskProps,
} from '../../host/devices/scsi-disk/index.js';
import type { ScsiDiskSpec, ScsiDiskSpecOf } from '../spec.js';
import type { CmdlineError } from './errors.js';
import type { OptPair } from './opts.js';
import { boolProp, driveProp, SHARE_RW_HELP } from './prop-types.js';
import { applyProps, formatProps, prop, propsHelp, type AnyPropDecl, type DefaultContext, type PropEnv, type PropType } from './props.js';

type Flat = { drive: string; shareRw: boolean } & ScsiDiskProps;

/** A codec that reads a value with the model's own parser for that property. */
function modelCodec(kind: ScsiDiskKind, name: keyof ScsiDiskProps, typeName: string): PropType<unknown> {
  return {
    name: typeName,
    parse(raw, site) {
      const r = parseScsiDiskProps(kind, { [name]: raw });
      if (E.isLeft(r)) return E.left({ _tag: 'PropertyValueBad', loc: site.loc, type: site.type, prop: site.prop, value: raw });
      return E.right(r.right[name]);
    },
    format: (v) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)),
  };
}

/** The type as QEMU's `-device scsi-hd,help` prints it. */
const QEMU_TYPE: Record<string, string> = {
  bool: 'bool',
  string: 'str',
  ostring: 'str',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  size: 'size',
  int32: 'int32',
  blocksize: 'size',
  address: 'uint32',
  onoffauto: 'OnOffAuto',
  onerror: 'BlockdevOnError',
};

function tableFor(kind: ScsiDiskKind): readonly AnyPropDecl<Flat>[] {
  const p = prop<Flat>();
  const device = (Object.entries(SCSI_DISK_PROPS) as [keyof ScsiDiskProps, ScsiDiskPropDecl<unknown>][])
    .filter(([, d]) => kind === 'scsi-hd' || !d.hdOnly)
    .map(([name, d]) => ({
      name,
      field: name,
      type: modelCodec(kind, name, QEMU_TYPE[d.type] ?? d.type),
      default: d.default === undefined ? { kind: 'none' as const } : { kind: 'value' as const, value: d.default },
      help: d.help,
    })) as unknown as AnyPropDecl<Flat>[];
  return [
    p({ name: 'drive', field: 'drive', type: driveProp, default: { kind: 'none' }, help: 'Node name or ID of a block device to use as a backend' }),
    p({ name: 'share-rw', field: 'shareRw', type: boolProp, default: { kind: 'value', value: false }, help: SHARE_RW_HELP }),
    ...device,
  ];
}

export const SCSI_HD_PROPS = tableFor('scsi-hd');
export const SCSI_CD_PROPS = tableFor('scsi-cd');
const tableOf = (kind: ScsiDiskKind) => (kind === 'scsi-hd' ? SCSI_HD_PROPS : SCSI_CD_PROPS);

export const scsiHdHelp = (): string => propsHelp('scsi-hd', SCSI_HD_PROPS);
export const scsiCdHelp = (): string => propsHelp('scsi-cd', SCSI_CD_PROPS);

/** Build a scsi-hd or scsi-cd on `where.bus` (already resolved), with the realize checks that need no bus. */
export function createScsiDiskSpec<K extends ScsiDiskKind>(
  kind: K,
  pairs: readonly OptPair[],
  where: { loc: string; env: PropEnv; id?: string; bus?: string },
  ctx: DefaultContext,
): E.Either<CmdlineError, ScsiDiskSpecOf<K>> {
  const loc = where.loc;
  const built = applyProps(tableOf(kind), pairs, { type: kind, loc, env: where.env }, ctx);
  if (E.isLeft(built)) return built;
  const { drive, shareRw, ...given } = built.right;
  if (drive === undefined && kind === 'scsi-hd') return E.left({ _tag: 'DriveNotSet', loc });
  if (drive !== undefined && kind === 'scsi-hd' && where.env.drive(drive)?.empty) return E.left({ _tag: 'DriveEmpty', loc });
  const props = parseScsiDiskProps(kind, given);
  if (E.isLeft(props)) return E.left({ _tag: 'DeviceRealize', loc, message: scsiDiskPropErrorMessage(kind, props.left) });
  const realized = realizeScsiDiskProps(kind, props.right, 0);
  if (E.isLeft(realized)) return E.left({ _tag: 'DeviceRealize', loc, message: scsiDiskPropErrorMessage(kind, realized.left) });
  if (where.bus === undefined) return E.left({ _tag: 'NoBusForDevice', loc, busType: 'SCSI', driver: kind });
  return E.right({
    driver: kind,
    ...(where.id !== undefined ? { id: where.id } : {}),
    bus: where.bus,
    ...(drive !== undefined ? { drive } : {}),
    shareRw: shareRw ?? false,
    props: props.right,
  });
}

/** `bus=…,drive=…` then every property that differs from its default. */
export function formatScsiDiskSpec(s: ScsiDiskSpec, ctx: DefaultContext): string[] {
  const flat = { ...(s.drive !== undefined ? { drive: s.drive } : {}), shareRw: s.shareRw, ...s.props } as unknown as Flat;
  return [`bus=${s.bus}`, ...formatProps(tableOf(s.driver), flat, ctx)];
}
