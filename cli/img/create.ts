/**
 * `iopath img create`: qemu-img create [-f fmt] [-o options] [-b backing_file [-F
 * backing_fmt]] [-u] [-q] filename [size]. Prints "Formatting '<filename>', fmt=<fmt>
 * <options>" before creating; `-o help` lists the format's creation options.
 */
import * as E from 'fp-ts/lib/Either.js';
import { findBlockDriver, findProtocolDriver } from '../../host/storage/registry.js';
import { blockErrorMessage } from '../../host/storage/errors.js';
import { prepareCreate } from '../../host/storage/img/create.js';
import { imgErrorMessage, refused, type ImgError } from '../../host/storage/img/errors.js';
import type { OptionTable } from '../../host/storage/options.js';
import { errorExit, hasOpt, OBJECT_OPT, optValue, parseArgs } from './common.js';
import { out, report } from './output.js';
import { cvtnum, sizeOptionMessage, strtosz } from './size.js';

/** is_valid_option_list: not empty, not starting with ',', not ending in an unescaped ','. */
export function isValidOptionList(s: string): boolean {
  if (s === '' || s.startsWith(',')) return false;
  const trailing = /,*$/.exec(s)![0].length;
  return trailing % 2 === 0;
}

/** Split "a=1,b=x,,y,flag" into pairs (',,' is a literal comma; a bare key means "on"). */
export function splitOptionList(s: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of s.replace(/,,/g, '\0').split(',')) {
    const item = part.replace(/\0/g, ',');
    const eq = item.indexOf('=');
    out.push(eq < 0 ? [item, 'on'] : [item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

export const hasHelpOption = (pairs: ReadonlyArray<readonly [string, string]>): boolean => pairs.some(([k]) => k === 'help' || k === '?');

/** qemu_opts_print_help: every option (size among them), sorted by name. */
function optionHelp(table: OptionTable): string {
  const all: OptionTable = { size: { type: 'size', help: 'Virtual disk size' }, ...table };
  const rows = Object.entries(all)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, d]) => [k, d.type === 'bool' ? 'bool (on/off)' : d.type === 'number' ? 'num' : d.type === 'size' ? 'size' : 'str', d.help]);
  return rows.map(([k, t, h]) => `  ${`${k}=<${t}>`.padEnd(22)} - ${h}\n`).join('');
}

/** print_block_option_help. */
export function printOptionHelp(filename: string | undefined, fmt: string): number {
  const drv = findBlockDriver(fmt);
  if (!drv) return report(`Unknown file format '${fmt}'`), 1;
  if (!drv.create) return report(`Format driver '${fmt}' does not support image creation`), 1;
  let table: OptionTable = drv.createOptions ?? {};
  if (filename !== undefined) {
    const proto = findProtocolDriver(filename);
    if (E.isLeft(proto)) return report(blockErrorMessage(proto.left)), 1;
    table = { ...table, ...(proto.right.createOptions ?? {}) };
    out(`Supported options:\n${optionHelp(table)}`);
    return 0;
  }
  out(`Supported ${fmt} options:\n${optionHelp(table)}\nThe protocol level may support further options.\nSpecify the target filename to include those options.\n`);
  return 0;
}

/** Every -o given, validated and joined as qemu-img does; undefined after reporting a bad list. */
export function collectOptions(opts: ReadonlyArray<{ key: string; arg?: string }>): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const o of opts) {
    if (o.key !== 'o') continue;
    if (!isValidOptionList(o.arg!)) {
      report(`Invalid option list: ${o.arg}`);
      return undefined;
    }
    pairs.push(...splitOptionList(o.arg!));
  }
  return pairs;
}

export function runCreate(argv: readonly string[]): number {
  const p = parseArgs(argv, 'F:b:f:o:qu', [OBJECT_OPT]);
  if (E.isLeft(p)) return p.left;
  const options = collectOptions(p.right.opts);
  if (!options) return 1;
  const fmt = optValue(p.right, 'f') ?? 'raw';
  const [filename, sizeText, ...extra] = p.right.operands;
  if (hasHelpOption(options)) return printOptionHelp(filename, fmt);
  if (filename === undefined) return errorExit('Expecting image file name');
  let size: bigint | undefined;
  if (sizeText !== undefined) {
    const s = cvtnum('image size', sizeText);
    if (E.isLeft(s)) return report(...s.left), 1;
    size = s.right;
  }
  if (extra.length > 0) return errorExit(`Unexpected argument: ${extra[0]}`);
  const plan = prepareCreate(
    { filename, format: fmt, size, options, backingFile: optValue(p.right, 'b'), backingFormat: optValue(p.right, 'F'), unsafe: hasOpt(p.right, 'u') },
    (text) => E.mapLeft(() => refused(sizeOptionMessage('size')))(strtosz(text)),
  );
  const prefixed = (e: ImgError): number => {
    report(`${filename}: ${imgErrorMessage(e)}`);
    return 1;
  };
  if (E.isLeft(plan)) return prefixed(plan.left);
  if (!hasOpt(p.right, 'q')) out(`Formatting '${filename}', fmt=${fmt} ${plan.right.optionsLine}\n`);
  const made = plan.right.run();
  return E.isLeft(made) ? prefixed(made.left) : 0;
}
