/**
 * qemu-img create -f vmdk (QEMU 7.2's vmdk_co_create_opts / vmdk_co_do_create /
 * vmdk_init_extent). Subformats:
 *
 * - monolithicSparse (default): one sparse extent, descriptor embedded at 0x200;
 * - streamOptimized: the same with deflate-compressed grains (version 3, COMPRESS|MARKER);
 * - monolithicFlat: "<name>.vmdk" descriptor + "<name>-flat.vmdk" of the full size;
 * - twoGbMaxExtentSparse / twoGbMaxExtentFlat: descriptor + "<name>-s001.vmdk"… or
 *   "<name>-f001.vmdk"… extents of at most 2 GiB each.
 *
 * A sparse extent is laid out as QEMU 7.2 does: header, descriptor space (20 sectors),
 * redundant grain directory and its grain tables, grain directory and its tables, then
 * grains from the next 64 KiB boundary; every table is allocated up front. The descriptor
 * is written last, so a failed create leaves no complete image behind. CIDs are QEMU's
 * g_random_int(); the model derives them from the file name, so runs repeat exactly.
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from '../../errors.js';
import type { CreateContext } from '../../image-api.js';
import type { BlockDriverState } from '../../node.js';
import type { OptionTable, ParsedOptions } from '../../options.js';
import { fnv1a, formatDescriptor, nextCid } from './descriptor.js';
import { SECTOR, encodeVmdk4Header, newSparseHeader } from './header.js';

export const SUBFORMATS = ['monolithicSparse', 'monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat', 'streamOptimized'] as const;

export const VMDK_CREATE_OPTIONS = {
  adapter_type: { type: 'string', default: 'ide', values: ['ide', 'lsilogic', 'buslogic', 'legacyESX'], help: 'Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX' },
  backing_file: { type: 'string', help: 'File name of a base image' },
  backing_fmt: { type: 'string', help: "Must be 'vmdk' if present" },
  compat6: { type: 'bool', default: false, help: 'VMDK version 6 image' },
  hwversion: { type: 'string', default: 'undefined', help: 'VMDK hardware version' },
  toolsversion: { type: 'string', help: 'VMware guest tools version' },
  subformat: { type: 'string', default: 'monolithicSparse', values: SUBFORMATS, help: 'VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized}' },
  zeroed_grain: { type: 'bool', default: false, help: 'Enable efficient zero writes using the zeroed-grain GTE feature' },
} as const satisfies OptionTable;

/** VMDK's constant split size. */
const SPLIT_SIZE = 0x80000000;

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'vmdk', message });

/** vmdk_init_extent for a sparse extent: tables first, the header last. */
function initSparse(bs: BlockDriverState, bytes: number, compress: boolean, zeroedGrain: boolean): string | null {
  const { header, gdSectors, gtSize, gtCount } = newSparseHeader(bytes, compress, zeroedGrain);
  const acct = { ns: 0 };
  const t = bs.truncate(Number(header.grainOffset) * SECTOR);
  if (t) return t.message;
  const gd = new Uint8Array(gdSectors * SECTOR);
  const dv = new DataView(gd.buffer);
  for (const dirSector of [Number(header.rgdOffset), Number(header.gdOffset)]) {
    for (let i = 0; i < gtCount; i++) dv.setUint32(i * 4, dirSector + gdSectors + i * gtSize, true);
    const w = bs.pwritev(dirSector * SECTOR, gd, {}, acct);
    if (w) return `failed to write VMDK grain directory: ${w.message}`;
  }
  const w = bs.pwritev(0, encodeVmdk4Header(header), {}, acct);
  return w ? `failed to write VMDK header: ${w.message}` : null;
}

/** filename_decompose: directory (with its '/'), name before the last '.', and the rest. */
function decompose(filename: string): { dir: string; prefix: string; postfix: string } {
  const slash = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'), filename.lastIndexOf(':'));
  const dir = filename.slice(0, slash + 1);
  const base = filename.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? { dir, prefix: base, postfix: '' } : { dir, prefix: base.slice(0, dot), postfix: base.slice(dot) };
}

/** The parent's CID, read by opening the backing image (which must be vmdk). */
function parentCid(filename: string, backing: string, ctx: CreateContext): E.Either<BlockError, number> {
  const full = path.isAbsolute(backing) ? backing : path.join(path.dirname(filename), backing);
  return E.flatMap(ctx.openImage(full), (bs) => {
    const fmt = bs.drv.formatName;
    const cid = fmt === 'vmdk' ? (bs.opaque as { cid: number }).cid : undefined;
    bs.close();
    return cid === undefined ? fail(`Invalid backing file format: ${fmt}. Must be vmdk`) : E.right(cid);
  });
}

export function createVmdk(filename: string, sizeIn: number, o: ParsedOptions<typeof VMDK_CREATE_OPTIONS>, ctx: CreateContext): E.Either<BlockError, void> {
  if (o.backing_fmt !== undefined && o.backing_fmt !== 'vmdk') return fail('backing_file must be a vmdk image');
  const size = Math.ceil(sizeIn / SECTOR) * SECTOR;
  let hw = o.hwversion === 'undefined' ? undefined : o.hwversion;
  if (o.compat6) {
    if (hw !== undefined) return fail('compat6 cannot be enabled with hwversion set');
    hw = '6';
  }
  const sub = o.subformat;
  const split = sub === 'twoGbMaxExtentFlat' || sub === 'twoGbMaxExtentSparse';
  const flat = sub === 'monolithicFlat' || sub === 'twoGbMaxExtentFlat';
  const compress = sub === 'streamOptimized';
  if (flat && o.backing_file !== undefined) return fail("Flat image can't have backing file");
  if (flat && o.zeroed_grain) return fail("Flat image can't enable zeroed grain");
  const { dir, prefix, postfix } = decompose(filename);
  const monolithic = !split && !flat;

  let parent = 0xffffffff;
  if (o.backing_file !== undefined) {
    const p = parentCid(filename, o.backing_file, ctx);
    if (E.isLeft(p)) return p;
    parent = p.right;
  }
  let lines = '';
  const extentLine = (bytes: number, name: string) =>
    (lines += flat ? `RW ${Math.ceil(bytes / SECTOR)} FLAT "${path.basename(name)}" 0\n` : `RW ${Math.ceil(bytes / SECTOR)} SPARSE "${path.basename(name)}"\n`);
  if (monolithic) extentLine(size, filename);
  else {
    const extentSize = split ? SPLIT_SIZE : size;
    for (let done = 0, idx = 1; done < size; done += extentSize, idx++) {
      const cur = Math.min(size - done, extentSize);
      const name = `${dir}${split ? `${prefix}-${flat ? 'f' : 's'}${String(idx).padStart(3, '0')}${postfix}` : `${prefix}-flat${postfix}`}`;
      const made = ctx.createFile(name, flat ? cur : 0);
      if (E.isLeft(made)) return made;
      const err = flat ? null : initSparse(made.right, cur, false, o.zeroed_grain);
      made.right.close();
      if (err) return fail(err);
      extentLine(cur, name);
    }
  }

  const desc = formatDescriptor({
    cid: nextCid(fnv1a(`${filename}:${size}`)),
    parentCid: parent,
    createType: sub,
    parentFileNameHint: o.backing_file,
    extentLines: lines,
    hwVersion: hw ?? '4',
    sizeBytes: size,
    adapterType: o.adapter_type,
    toolsVersion: o.toolsversion ?? '2147483647',
  });
  return E.flatMap(ctx.createFile(filename, 0), (bs) => {
    const text = new Uint8Array(Buffer.from(desc, 'latin1'));
    let err = monolithic ? initSparse(bs, size, compress, o.zeroed_grain) : null;
    if (!err) {
      const w = bs.pwritev(monolithic ? 0x200 : 0, text, {}, { ns: 0 });
      err = w ? `Could not write description: ${w.message}` : null;
    }
    bs.close();
    return err ? fail(err) : E.right(undefined);
  });
}
