/**
 * What every `iopath img` subcommand shares: its command line parsed as qemu-img parses
 * it (getopt_long with the same option letters and names, the same messages and exit
 * codes for a bad one), images opened and their errors reported in qemu-img's words.
 */
import * as E from 'fp-ts/lib/Either.js';
import { imgErrorMessage, type ImgError } from '../../host/storage/img/errors.js';
import { openImage, type OpenImage } from '../../host/storage/img/image.js';
import { Getopt, type LongOpt } from './getopt.js';
import { out, report } from './output.js';

/** error_exit: the message, qemu-img's hint, exit status 1. */
export function errorExit(message: string): number {
  report(message);
  process.stderr.write("Try 'qemu-img --help' for more information\n");
  return 1;
}

export interface ParsedArgs {
  /** Options in command-line order: the short letter or long option key, with its argument. */
  readonly opts: ReadonlyArray<{ readonly key: string; readonly arg?: string }>;
  readonly operands: readonly string[];
}

/** The usage `-h` prints for each subcommand (qemu-img prints its whole help). */
export const USAGE: Readonly<Record<string, string>> = {
  create: 'create [-f fmt] [-o options] [-b backing_file [-F backing_fmt]] [-u] [-q] filename [size]',
  info: 'info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename',
  check: 'check [-f fmt] [--output=human|json] [-r leaks|all] [-q] [-U] filename',
  map: 'map [-f fmt] [--output=human|json] [-U] filename',
  convert: 'convert [-f fmt] [-O output_fmt] [-o options] [-c] [-n] [-S sparse_size] [-q] [-U] filename [filename2 [...]] output_filename',
  compare: 'compare [-f fmt] [-F fmt] [-s] [-q] [-U] filename1 filename2',
  snapshot: 'snapshot [-l | -a snapshot | -c snapshot | -d snapshot] [-q] [-U] filename',
  commit: 'commit [-f fmt] [-b base] [-d] [-q] filename',
  rebase: 'rebase [-f fmt] [-u] -b backing_file [-F backing_fmt] [-q] [-U] filename',
  resize: 'resize [-f fmt] [--shrink] [-q] filename [+ | -]size',
};

/** The short help of `iopath img` (`-h` anywhere). */
export function printHelp(): number {
  out(
    'usage: iopath img command [command options]\n' +
      "qemu-img's commands over iopath's block layer, with qemu-img's options, output and exit codes.\n\n" +
      'Command syntax:\n' +
      Object.values(USAGE)
        .map((u) => `  ${u}\n`)
        .join('') +
      '\nSupported formats: the registered block drivers (see `iopath img create -f <fmt> -o help`)\n',
  );
  return 0;
}

/**
 * Parse `argv` (argv[0] is the subcommand's name) as getopt_long would with `shortopts`
 * (without qemu-img's leading ':') and `longopts`; '--help' and '-h' print help. Left is
 * the exit status after the message has been printed (or after help).
 */
export function parseArgs(argv: readonly string[], shortopts: string, longopts: readonly LongOpt[] = []): E.Either<number, ParsedArgs> {
  const g = new Getopt(argv, shortopts + 'h', [{ name: 'help', arg: 'none', key: 'h' }, ...longopts]);
  const opts: { key: string; arg?: string }[] = [];
  for (let r = g.next(); r; r = g.next()) {
    if (r.kind === 'unrecognized') return E.left(errorExit(`unrecognized option '${r.culprit}'`));
    if (r.kind === 'missing') return E.left(errorExit(`missing argument for option '${r.culprit}'`));
    if (r.key === 'h') return E.left(printHelp());
    opts.push(r.arg === undefined ? { key: r.key } : { key: r.key, arg: r.arg });
  }
  // Accepted so that abbreviations resolve as in qemu-img, but not modelled.
  for (const key of NOT_MODELLED) {
    if (opts.some((o) => o.key === key)) {
      report(`--${key} is not supported by iopath img`);
      return E.left(1);
    }
  }
  return E.right({ opts, operands: g.operands() });
}

/** Options qemu-img has that iopath img refuses (user-creatable objects, option-string image names). */
const NOT_MODELLED = ['object', 'image-opts', 'target-image-opts', 'salvage', 'bitmaps'];

/** The last value of an option, or undefined. */
export function optValue(p: ParsedArgs, key: string): string | undefined {
  let v: string | undefined;
  for (const o of p.opts) if (o.key === key) v = o.arg;
  return v;
}

export function hasOpt(p: ParsedArgs, key: string): boolean {
  return p.opts.some((o) => o.key === key);
}

export type OutputFormat = 'human' | 'json';

/** --output: human (default) or json; anything else is refused (exit 1). */
export function outputFormat(v: string | undefined): E.Either<number, OutputFormat> {
  if (v === undefined || v === 'human') return E.right('human');
  if (v === 'json') return E.right('json');
  report('--output must be used with human or json as argument.');
  return E.left(1);
}

export const OUTPUT_OPT: LongOpt = { name: 'output', arg: 'required', key: 'output' };
export const FORMAT_OPT: LongOpt = { name: 'format', arg: 'required', key: 'f' };
export const FORCE_SHARE_OPT: LongOpt = { name: 'force-share', arg: 'none', key: 'U' };
export const OBJECT_OPT: LongOpt = { name: 'object', arg: 'required', key: 'object' };
export const IMAGE_OPTS_OPT: LongOpt = { name: 'image-opts', arg: 'none', key: 'image-opts' };

/** What block.c prints when a probed raw image is opened for writing. */
export function probedRawWarning(filename: string): void {
  process.stderr.write(
    `WARNING: Image format was not specified for '${filename}' and probing guessed raw.\n` +
      '         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n' +
      "         Specify the 'raw' format explicitly to remove the restrictions.\n",
  );
}

/** img_open: the image, or undefined after printing qemu-img's message. `modes`: BDRV_O_CHECK, BDRV_O_NO_BACKING. */
export function open(filename: string, format: string | undefined, writable = false, modes: { check?: boolean; noBacking?: boolean } = {}): OpenImage | undefined {
  const r = openImage(filename, { format, writable, ...modes });
  if (E.isLeft(r)) {
    report(imgErrorMessage(r.left));
    return undefined;
  }
  if (writable && r.right.probedRaw) probedRawWarning(filename);
  return r.right;
}

/** Report an image-tool error (error_report). */
export function reportImgError(e: ImgError): void {
  report(imgErrorMessage(e));
}

/** Close `img`; a failed final flush is reported and turns success into failure. */
export function closeImage(img: OpenImage, code: number): number {
  const err = img.close();
  if (err && code === 0) {
    report(`Failed to flush the image: ${err.message}`);
    return 1;
  }
  return code;
}
