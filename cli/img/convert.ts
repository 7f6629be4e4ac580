/**
 * `iopath img convert`: qemu-img convert [-f fmt] [-O output_fmt] [-o options] [-B
 * backing_file] [-c] [-n] [-l snapshot_param] [-S sparse_size] [-q] [-U] filename
 * [filename2 [...]] output_filename. Several sources are concatenated; the target is
 * created (unless -n) with their total size. With -l the (first) source is read as one
 * of its internal snapshots.
 */
import * as E from 'fp-ts/lib/Either.js';
import { convertImages } from '../../host/storage/img/convert.js';
import { imageLength, type OpenImage } from '../../host/storage/img/image.js';
import { loadSnapshotTmp, parseSnapshotArg, type SnapshotRef } from '../../host/storage/img/snapshot-tmp.js';
import { blockErrorMessage } from '../../host/storage/errors.js';
import { createImage } from '../../host/storage/open.js';
import { findBlockDriver, findProtocolDriver } from '../../host/storage/registry.js';
import { closeImage, FORCE_SHARE_OPT, hasOpt, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, parseArgs, reportImgError } from './common.js';
import { collectOptions, hasHelpOption, printOptionHelp } from './create.js';
import { report } from './output.js';
import { cvtnum } from './size.js';

const MAX_BUF_SECTORS = 32768;

/** -S: bytes, a multiple of 512 up to 16 MiB; undefined after reporting a bad one. */
function sparseSize(text: string): number | undefined {
  const v = cvtnum('buffer size for sparse output', text);
  if (E.isLeft(v)) return report(...v.left), undefined;
  const n = v.right;
  if (n % 512n !== 0n || n / 512n > BigInt(MAX_BUF_SECTORS)) {
    report(`Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to ${MAX_BUF_SECTORS * 512}. Select 0 to disable sparse detection (fully allocates output).`);
    return undefined;
  }
  return Number(n);
}

function closeAll(images: readonly OpenImage[], code: number): number {
  for (const img of images) img.close();
  return code;
}

export function runConvert(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:O:B:Cco:l:S:pt:T:qnm:WU', [
    OBJECT_OPT,
    IMAGE_OPTS_OPT,
    FORCE_SHARE_OPT,
    { name: 'target-image-opts', arg: 'none', key: 'target-image-opts' },
    { name: 'salvage', arg: 'none', key: 'salvage' },
    { name: 'bitmaps', arg: 'none', key: 'bitmaps' },
  ]);
  if (E.isLeft(p)) return p.left;
  let minSparse = 4096;
  const options: Array<[string, string]> = [];
  let snapOpts: SnapshotRef | undefined;
  let snapName: string | undefined;
  for (const o of p.right.opts) {
    if (o.key === 'l') {
      const ref = parseSnapshotArg(o.arg!);
      if (E.isLeft(ref)) return report(...ref.left), 1;
      if (ref.right.kind === 'opts') snapOpts = ref.right;
      else snapName = ref.right.idOrName;
    } else if (o.key === 'S') {
      const s = sparseSize(o.arg!);
      if (s === undefined) return 1;
      minSparse = s;
    } else if (o.key === 'o') {
      const pairs = collectOptions([o]);
      if (!pairs) return 1;
      options.push(...pairs);
    } else if (o.key === 'm') {
      const m = Number(o.arg);
      if (!/^\s*[+-]?\d+$/.test(o.arg!) || m < 1 || m > 16) return report('Invalid number of coroutines. Allowed number of coroutines is between 1 and 16'), 1;
    }
  }
  const compressed = hasOpt(p.right, 'c');
  const skipCreate = hasOpt(p.right, 'n');
  const outFmt = optValue(p.right, 'O') ?? 'raw';
  const backing = optValue(p.right, 'B');
  if (hasOpt(p.right, 'C') && compressed) return report('Cannot enable copy offloading when -c is used'), 1;
  if (skipCreate && options.length > 0) return report('-o has no effect when skipping image creation'), 1;
  const names = p.right.operands;
  const outName = names.length >= 2 ? names[names.length - 1] : undefined;
  if (hasHelpOption(options)) return printOptionHelp(outName, outFmt);
  if (outName === undefined) return report('Must specify image file name'), 1;

  const sources: OpenImage[] = [];
  for (const name of names.slice(0, -1)) {
    const img = open(name, optValue(p.right, 'f'));
    if (!img) return closeAll(sources, 1);
    sources.push(img);
  }
  const total = sources.reduce((n, s) => n + imageLength(s.bs), 0);
  if (snapName !== undefined && snapOpts === undefined && sources.length > 1) return report('No support for concatenating multiple snapshot'), closeAll(sources, 1);
  const snap = snapOpts ?? (snapName === undefined ? undefined : { kind: 'id-or-name' as const, idOrName: snapName });
  if (snap) {
    const loaded = loadSnapshotTmp(sources[0].bs, snap);
    if (E.isLeft(loaded)) return reportImgError(loaded.left), closeAll(sources, 1);
  }
  if (!skipCreate) {
    const drv = findBlockDriver(outFmt);
    if (!drv) return report(`Unknown file format '${outFmt}'`), closeAll(sources, 1);
    const proto = findProtocolDriver(outName);
    if (E.isLeft(proto)) return report(blockErrorMessage(proto.left)), closeAll(sources, 1);
    if (!drv.create) return report(`Format driver '${outFmt}' does not support image creation`), closeAll(sources, 1);
    const table = { ...(drv.createOptions ?? {}), ...(proto.right.createOptions ?? {}) };
    const given: Record<string, string> = {};
    for (const [k, v] of options) {
      if (k !== 'size' && !(k in table)) return report(`Invalid parameter '${k}'`), closeAll(sources, 1);
      if (k !== 'size') given[k] = v;
    }
    if (backing !== undefined) {
      if (!('backing_file' in table)) return report(`Backing file not supported for file format '${outFmt}'`), closeAll(sources, 1);
      given.backing_file = backing;
    }
    if (sources.length > 1 && given.backing_file !== undefined) {
      return report('Having a backing file for the target makes no sense when concatenating multiple input images'), closeAll(sources, 1);
    }
    if (compressed && !drv.writeCompressed) return report('Compression not supported for this file format'), closeAll(sources, 1);
    if (compressed && given.preallocation !== undefined && given.preallocation !== 'off') {
      return report('Compression and preallocation not supported at the same time'), closeAll(sources, 1);
    }
    const made = createImage(outFmt, outName, total, given);
    if (E.isLeft(made)) return report(`${outName}: error while converting ${outFmt}: ${blockErrorMessage(made.left)}`), closeAll(sources, 1);
  }
  const target = open(outName, outFmt, true);
  if (!target) return closeAll(sources, 1);
  if (compressed && !target.bs.drv.writeCompressed) return report('Compression not supported for this file format'), closeImage(target, closeAll(sources, 1));
  if (skipCreate && imageLength(target.bs) < total) return report('output file is smaller than input file'), closeImage(target, closeAll(sources, 1));
  const r = convertImages(
    sources.map((s) => s.bs),
    target.bs,
    { minSparse, compressed, targetIsNew: !skipCreate, targetHasBacking: !skipCreate && backing !== undefined },
  );
  if (E.isLeft(r)) reportImgError(r.left);
  return closeImage(target, closeAll(sources, E.isLeft(r) ? 1 : 0));
}

