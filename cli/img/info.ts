/**
 * `iopath img info`: qemu-img info [-f fmt] [--output=human|json] [--backing-chain] [-U]
 * filename. The JSON is qemu-img's ImageInfo (key order included); the human layout is
 * bdrv_image_info_dump's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fullBackingFilename } from '../../host/storage/img/image.js';
import { imageInfo, type ImageInfo } from '../../host/storage/img/info.js';
import type { FormatSpecificInfo, SnapshotInfo } from '../../host/storage/image-api.js';
import { errorExit, FORCE_SHARE_OPT, FORMAT_OPT, IMAGE_OPTS_OPT, OBJECT_OPT, hasOpt, open, optValue, OUTPUT_OPT, outputFormat, parseArgs } from './common.js';
import { out, qdictOrder as qdictKeys, report, sizeToStr, toJsonPretty, type QDict, type QValue } from './output.js';
import { snapshotJson, snapshotTable } from './snapshot-format.js';

/** ImageInfo as qemu-img's JSON, fields in QAPI schema order (the QDict reorders them). */
export function imageInfoJson(i: ImageInfo): QDict {
  return {
    filename: i.filename,
    format: i.format,
    'dirty-flag': i.dirtyFlag,
    'actual-size': i.actualSize,
    'virtual-size': i.virtualSize,
    'cluster-size': i.clusterSize,
    encrypted: i.encrypted,
    'backing-filename': i.backingFilename,
    'full-backing-filename': i.fullBackingFilename,
    'backing-filename-format': i.backingFilenameFormat,
    snapshots: i.snapshots?.map(snapshotJson),
    'format-specific': i.formatSpecific ? formatSpecificJson(i.formatSpecific) : undefined,
  };
}

function formatSpecificJson(f: FormatSpecificInfo): QDict {
  return { type: f.type, data: f.data as QDict };
}

/** dump_qobject / dump_qdict: "    key: value", dashes in keys as spaces, containers nested. */
function dumpQObject(indent: number, v: QValue): string {
  if (Array.isArray(v)) {
    return (v as readonly QValue[]).map((e, i) => {
      const composite = typeof e === 'object' && e !== null;
      return `${' '.repeat(indent * 4)}[${i}]:${composite ? '\n' + dumpQObject(indent + 1, e) : ' ' + dumpQObject(indent + 1, e) + '\n'}`;
    }).join('');
  }
  if (typeof v === 'object' && v !== null) {
    const d = v as QDict;
    return qdictKeys(d).map((k) => {
      const e = d[k]!;
      const composite = typeof e === 'object' && e !== null;
      const key = k.replace(/-/g, ' ');
      return `${' '.repeat(indent * 4)}${key}:${composite ? '\n' + dumpQObject(indent + 1, e) : ' ' + dumpQObject(indent + 1, e) + '\n'}`;
    }).join('');
  }
  return v === null ? 'null' : String(v);
}

/** bdrv_image_info_dump. */
export function imageInfoHuman(i: ImageInfo): string {
  let s = `image: ${i.filename}\nfile format: ${i.format}\n`;
  s += `virtual size: ${sizeToStr(i.virtualSize)} (${i.virtualSize} bytes)\n`;
  s += `disk size: ${i.actualSize === undefined ? 'unavailable' : sizeToStr(i.actualSize)}\n`;
  if (i.encrypted) s += 'encrypted: yes\n';
  if (i.clusterSize !== undefined) s += `cluster_size: ${i.clusterSize}\n`;
  if (i.dirtyFlag) s += 'dirty flag: yes\n';
  if (i.backingFilename !== undefined) {
    s += `backing file: ${i.backingFilename}`;
    if (i.fullBackingFilename !== undefined && i.fullBackingFilename !== i.backingFilename) s += ` (actual path: ${i.fullBackingFilename})`;
    s += '\n';
  }
  if (i.backingFilenameFormat !== undefined) s += `backing file format: ${i.backingFilenameFormat}\n`;
  if (i.snapshots) s += `Snapshot list:\n${snapshotTable(i.snapshots)}`;
  if (i.formatSpecific) s += `Format specific information:\n${dumpQObject(1, i.formatSpecific.data as QDict)}`;
  return s;
}

/** collect_image_info_list: the image, and with `chain` each backing file in turn. */
function collect(filename: string, format: string | undefined, chain: boolean): ImageInfo[] | undefined {
  const seen = new Set<string>();
  const list: ImageInfo[] = [];
  let name: string | undefined = filename;
  let fmt = format;
  while (name !== undefined) {
    if (seen.has(name)) {
      report(`Backing file '${name}' creates an infinite loop.`);
      return undefined;
    }
    seen.add(name);
    // img_open with BDRV_O_NO_BACKING: a missing backing file is reported, not an error.
    const img = open(name, fmt, false, { noBacking: true });
    if (!img) return undefined;
    const info = imageInfo(img.bs, name);
    img.close();
    list.push(info);
    name = undefined;
    fmt = undefined;
    if (chain && info.backingFilename !== undefined) {
      const full = fullBackingFilename(info.filename, info.backingFilename);
      if (E.isLeft(full)) {
        report(`Could not determine absolute backing filename, but backing filename '${info.backingFilename}' present`);
        return undefined;
      }
      name = full.right;
      fmt = info.backingFilenameFormat;
    }
  }
  return list;
}

export function runInfo(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:U', [FORMAT_OPT, OUTPUT_OPT, { name: 'backing-chain', arg: 'none', key: 'backing-chain' }, OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  const fmt = outputFormat(optValue(p.right, 'output'));
  if (E.isLeft(fmt)) return fmt.left;
  const chain = hasOpt(p.right, 'backing-chain');
  const list = collect(p.right.operands[0], optValue(p.right, 'f'), chain);
  if (!list) return 1;
  if (fmt.right === 'human') out(list.map(imageInfoHuman).join('\n'));
  else out(toJsonPretty(chain ? list.map(imageInfoJson) : imageInfoJson(list[0])) + '\n');
  return 0;
}
