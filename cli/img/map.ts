/**
 * `iopath img map`: qemu-img map [-f fmt] [--output=human|json] [-U] filename. JSON lists
 * every run (start, length, depth, present, zero, data, offset); the human table lists
 * only the runs holding data, with their host offset and file.
 */
import * as E from 'fp-ts/lib/Either.js';
import { mapImage, type MapEntry } from '../../host/storage/img/block-status.js';
import { errorExit, FORCE_SHARE_OPT, FORMAT_OPT, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, OUTPUT_OPT, outputFormat, parseArgs } from './common.js';
import { out, report } from './output.js';

/** printf("%#-16"PRIx64): 0x-prefixed hex, except plain 0, left-aligned in 16 columns. */
const hex = (n: number): string => (n === 0 ? '0' : '0x' + n.toString(16)).padEnd(16);

/** One JSON line of qemu-img map (without the list punctuation). */
export function mapEntryJson(e: MapEntry): string {
  const off = e.offset !== undefined ? `, "offset": ${e.offset}` : '';
  return `{ "start": ${e.start}, "length": ${e.length}, "depth": ${e.depth}, "present": ${e.present}, "zero": ${e.zero}, "data": ${e.data}${off}}`;
}

export function mapJson(entries: readonly MapEntry[]): string {
  return entries.length === 0 ? '' : '[' + entries.map(mapEntryJson).join(',\n') + ']\n';
}

/**
 * The human table: the runs with data and no zero flag. (qemu-img also folds zero and
 * unallocated runs together here, which changes nothing that is printed.) A data run
 * with no host offset cannot be shown, and stops the table with qemu-img's error.
 */
export function mapHuman(entries: readonly MapEntry[]): { readonly text: string; readonly error?: string } {
  let s = `${'Offset'.padEnd(16)}${'Length'.padEnd(16)}${'Mapped to'.padEnd(16)}File\n`;
  for (const e of entries) {
    const cur = !e.data || e.zero ? { ...e, data: false, zero: true } : e;
    if (cur.data && cur.offset === undefined) return { text: s, error: 'File contains external, encrypted or compressed clusters.' };
    if (cur.data && !cur.zero) s += `${hex(cur.start)}${hex(cur.length)}${hex(cur.offset ?? 0)}${cur.filename ?? ''}\n`;
  }
  return { text: s };
}

export function runMap(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:U', [FORMAT_OPT, OUTPUT_OPT, OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  const fmt = outputFormat(optValue(p.right, 'output'));
  if (E.isLeft(fmt)) return fmt.left;
  const img = open(p.right.operands[0], optValue(p.right, 'f'));
  if (!img) return 1;
  const entries = mapImage(img.bs);
  img.close();
  if (fmt.right === 'json') {
    out(mapJson(entries));
    return 0;
  }
  const h = mapHuman(entries);
  out(h.text);
  if (h.error === undefined) return 0;
  report(h.error);
  return 1;
}
