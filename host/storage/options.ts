/**
 * Driver options, declared once with their type, default and help (gem5's params, QEMU's
 * QemuOptsList), and parsed from what a command line or a JSON `-blockdev` gives: a
 * `size` may be `1073741824` or `"1G"`, a bool `true` or `"on"`.
 *
 * `crumple` turns the flat dotted keys of a command line (`file.filename=x`,
 * `cache.direct=on`) into nested objects, as QEMU's qdict_crumple does.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from './errors.js';

/** 'list': a QAPI list of objects (blkdebug's inject-error), see `parseList`. */
export type OptionType = 'size' | 'number' | 'bool' | 'string' | 'list';

export interface OptionDecl {
  readonly type: OptionType;
  readonly help: string;
  /** Value when the option is absent. */
  readonly default?: number | boolean | string;
  /** Absent and no default: "Parameter 'x' is missing". */
  readonly required?: boolean;
  /** For strings: the accepted values (a QAPI enum). */
  readonly values?: readonly string[];
}

export type OptionTable = Readonly<Record<string, OptionDecl>>;

/** One element of a 'list' option: an object whose values the driver parses itself. */
export type OptionListItem = Readonly<Record<string, unknown>>;

type ValueOf<D> = D extends { type: 'bool' }
  ? boolean
  : D extends { type: 'string' }
    ? string
    : D extends { type: 'list' }
      ? readonly OptionListItem[]
      : number;

/** The parsed options of a table: present (or defaulted) values have their type. */
export type ParsedOptions<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends { default: unknown } | { required: true } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([bkmgtpe]?)$/i;
const SIZE_SHIFT: Record<string, number> = { '': 0, b: 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };
const SIZE_EXPECTS = 'a non-negative number below 2^53, optional suffix k, M, G, T, P or E';

const bad = (parameter: string, value: unknown, expected: string): E.Either<BlockError, never> =>
  E.left({ _tag: 'BadParameter', parameter, value, expected });

/** qemu_strtosz: "4096", "1.5k", "1G" → bytes. */
export function parseSize(parameter: string, v: unknown): E.Either<BlockError, number> {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? E.right(v) : bad(parameter, v, SIZE_EXPECTS);
  if (typeof v !== 'string') return bad(parameter, v, SIZE_EXPECTS);
  const m = SIZE_RE.exec(v.trim());
  if (!m) return bad(parameter, v, SIZE_EXPECTS);
  const n = Number(m[1]) * 2 ** SIZE_SHIFT[m[2].toLowerCase()];
  return Number.isSafeInteger(n) ? E.right(n) : bad(parameter, v, SIZE_EXPECTS);
}

/** QAPI bool: true/false, "on"/"off", "yes"/"no", "true"/"false". */
export function parseBool(parameter: string, v: unknown): E.Either<BlockError, boolean> {
  if (typeof v === 'boolean') return E.right(v);
  if (v === 'on' || v === 'yes' || v === 'true') return E.right(true);
  if (v === 'off' || v === 'no' || v === 'false') return E.right(false);
  return bad(parameter, v, "'on' or 'off'");
}

function parseNumber(parameter: string, v: unknown): E.Either<BlockError, number> {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? E.right(n) : bad(parameter, v, 'an integer');
}

function parseString(parameter: string, v: unknown, values?: readonly string[]): E.Either<BlockError, string> {
  if (typeof v !== 'string') return bad(parameter, v, 'a string');
  if (values && !values.includes(v)) return bad(parameter, v, `one of ${values.map((x) => `'${x}'`).join(', ')}`);
  return E.right(v);
}

/**
 * A QAPI list of objects: a JSON array, or what `crumple` makes of the dotted keys
 * `name.0.key=...,name.1.key=...` (an object keyed 0, 1, … with no gaps, as
 * qdict_crumple requires of a list).
 */
export function parseList(parameter: string, v: unknown): E.Either<BlockError, readonly OptionListItem[]> {
  const expects = 'a list of objects (name.0.key=value, name.1.key=value, ...)';
  let items: unknown[];
  if (Array.isArray(v)) items = v;
  else if (isPlainObject(v)) {
    const keys = Object.keys(v);
    // Integer-like keys enumerate in ascending order, so 0..n-1 means key i is "i".
    if (!keys.every((k, i) => k === String(i))) return bad(parameter, v, expects);
    items = keys.map((_, i) => v[String(i)]);
  } else return bad(parameter, v, expects);
  return items.every(isPlainObject) ? E.right(items) : bad(parameter, v, expects);
}

/** Parse one value of a declared option. */
export function parseOption(parameter: string, decl: OptionDecl, v: unknown): E.Either<BlockError, number | boolean | string | readonly OptionListItem[]> {
  switch (decl.type) {
    case 'list':
      return parseList(parameter, v);
    case 'size':
      return parseSize(parameter, v);
    case 'number':
      return parseNumber(parameter, v);
    case 'bool':
      return parseBool(parameter, v);
    case 'string':
      return parseString(parameter, v, decl.values);
  }
}

/**
 * Parse the options `table` declares out of `given`; keys it does not declare are left
 * for the caller (who reports the ones nobody consumed). Defaults fill absent values.
 */
export function parseOptions<T extends OptionTable>(table: T, given: Readonly<Record<string, unknown>>): E.Either<BlockError, ParsedOptions<T>> {
  const out: Record<string, number | boolean | string | readonly OptionListItem[] | undefined> = {};
  for (const [name, decl] of Object.entries(table)) {
    const v = given[name];
    if (v === undefined) {
      if (decl.default === undefined && decl.required) return E.left({ _tag: 'MissingParameter', parameter: name });
      out[name] = decl.default;
      continue;
    }
    const r = parseOption(name, decl, v);
    if (E.isLeft(r)) return r;
    out[name] = r.right;
  }
  return E.right(out as ParsedOptions<T>);
}

/** `{ 'file.filename': 'x', 'cache.direct': 'on' }` → `{ file: { filename: 'x' }, cache: { direct: 'on' } }`. */
export function crumple(flat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(flat)) {
    const dot = key.indexOf('.');
    if (dot < 0) {
      out[key] = isPlainObject(v) ? crumple(v) : v;
      continue;
    }
    const head = key.slice(0, dot);
    const prev = out[head];
    const sub: Record<string, unknown> = isPlainObject(prev) ? prev : {};
    sub[key.slice(dot + 1)] = v;
    out[head] = crumple(sub);
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
