/**
 * `qemu-img create` (bdrv_img_create): `-o` options checked against the format's
 * `createOptions`, a backing file given with -b/-F (opened to check it and to take its
 * size unless -u), the size from the command line, `-o size=` or the backing file, and
 * the "Formatting ..." line qemu-img prints before it creates.
 *
 * `prepareCreate` does every check and returns the plan; `run` then creates the image, so
 * a caller prints the line in between as qemu-img does.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockEnv } from '../driver.js';
import { createImage, standaloneEnv } from '../open.js';
import { parseOptions } from '../options.js';
import { findBlockDriver, findProtocolDriver } from '../registry.js';
import { blockErrorMessage } from '../errors.js';
import { imgErrorMessage, refused, type ImgError } from './errors.js';
import { fullBackingFilename, imageLength, openImage } from './image.js';

export interface CreateRequest {
  readonly filename: string;
  readonly format: string;
  /** The size operand, already parsed; undefined when absent. */
  readonly size?: bigint;
  /** The -o key=value pairs, in order ("size" among them is the image size). */
  readonly options: ReadonlyArray<readonly [string, string]>;
  readonly backingFile?: string;
  readonly backingFormat?: string;
  /** -u: do not open the backing file (its size is then not known). */
  readonly unsafe?: boolean;
  readonly env?: BlockEnv;
}

export interface CreatePlan {
  /** What follows "Formatting '<filename>', fmt=<format> ": the options, space separated. */
  readonly optionsLine: string;
  readonly size: bigint;
  /** Create the image. */
  run(): E.Either<ImgError, void>;
}

/** Parse the size of `-o size=`: qemu_strtosz, injected by the caller (it owns the command-line syntax). */
export type SizeParser = (text: string) => E.Either<ImgError, bigint>;

const OPTION_SIZE = 'size';

export function prepareCreate(req: CreateRequest, parseSize: SizeParser): E.Either<ImgError, CreatePlan> {
  const drv = findBlockDriver(req.format);
  if (!drv) return E.left(refused(`Unknown file format '${req.format}'`));
  if (!drv.create) return E.left(refused(`Format driver '${req.format}' does not support image creation`));
  const proto = findProtocolDriver(req.filename);
  if (E.isLeft(proto)) return E.left({ _tag: 'Block', error: proto.left });
  const table = { ...(drv.createOptions ?? {}), ...(proto.right.createOptions ?? {}) };
  const given = new Map<string, string>();
  for (const [k, v] of req.options) {
    if (k !== OPTION_SIZE && !(k in table)) return E.left(refused(`Invalid parameter '${k}'`));
    given.set(k, v);
  }
  let size = req.size;
  const sizeOpt = given.get(OPTION_SIZE);
  if (sizeOpt !== undefined) {
    const parsed = parseSize(sizeOpt);
    if (E.isLeft(parsed)) return parsed;
    if (size !== undefined) return E.left(refused('The image size must be specified only once'));
    size = parsed.right;
    given.delete(OPTION_SIZE);
  }
  if (req.backingFile !== undefined) {
    if (!('backing_file' in table)) return E.left(refused(`Backing file not supported for file format '${req.format}'`));
    given.set('backing_file', req.backingFile);
  }
  if (req.backingFormat !== undefined) {
    if (!('backing_fmt' in table)) return E.left(refused(`Backing file format not supported for file format '${req.format}'`));
    given.set('backing_fmt', req.backingFormat);
  }
  const checked = parseOptions(table, Object.fromEntries(given));
  if (E.isLeft(checked)) return E.left({ _tag: 'Block', error: checked.left });
  const backing = given.get('backing_file');
  const backingFmt = given.get('backing_fmt');
  if (backing !== undefined) {
    if (backing === req.filename) return E.left(refused('Error: Trying to create an image with the same filename as the backing file'));
    if (backing === '') return E.left(refused('Expected backing file name, got empty string'));
  }
  const env = req.env ?? standaloneEnv();
  if (backing !== undefined && !req.unsafe) {
    const full = fullBackingFilename(req.filename, backing);
    if (E.isLeft(full)) return full;
    const img = openImage(full.right, { format: backingFmt, env });
    if (E.isLeft(img)) {
      const e = img.left;
      const why = e._tag === 'OpenFailed' ? blockErrorMessage(e.error) : imgErrorMessage(e);
      return E.left(refused(`${why}\nCould not open backing image.`));
    }
    const detected = img.right.bs.drv.formatName;
    const backingSize = imageLength(img.right.bs);
    img.right.close();
    if (backingFmt === undefined) return E.left(refused(`Backing file specified without backing format\nDetected format of ${detected}.`));
    size ??= BigInt(backingSize);
  } else if (backing !== undefined && backingFmt === undefined) {
    return E.left(refused('Backing file specified without backing format'));
  }
  if (size === undefined) return E.left(refused('Image creation needs a size parameter'));
  const finalSize = size;
  // qemu_opts_print: in the table's order (size first unless the table places it), a
  // given size or number as its value, anything else as written (or its default).
  const printed = OPTION_SIZE in table ? [] : [`size=${finalSize}`];
  for (const [k, decl] of Object.entries(table)) {
    const parsed = checked.right[k];
    const numeric = (decl.type === 'size' || decl.type === 'number') && typeof parsed === 'number';
    const v =
      k === OPTION_SIZE
        ? String(finalSize)
        : numeric && given.has(k)
          ? String(parsed)
          : given.get(k) ?? (decl.default === undefined ? undefined : typeof decl.default === 'boolean' ? (decl.default ? 'on' : 'off') : String(decl.default));
    if (v !== undefined) printed.push(`${k}=${v.replace(/,/g, ',,')}`);
  }
  return E.right({
    optionsLine: printed.join(' '),
    size: finalSize,
    run: () => {
      const tooLarge = refused(`The image size is too large for file format '${req.format}'${given.has('cluster_size') ? ' (try using a larger cluster size)' : ''}`);
      if (finalSize > BigInt(Number.MAX_SAFE_INTEGER)) return E.left(tooLarge);
      const r = createImage(req.format, req.filename, Number(finalSize), Object.fromEntries(given), env);
      if (E.isRight(r)) return r;
      const err = r.left;
      if (err._tag === 'CouldNotCreate' && /EFBIG|too large/i.test(err.reason)) return E.left(tooLarge);
      return E.left({ _tag: 'Block', error: err });
    },
  });
}
