/**
 * QEMU's keyval syntax (util/keyval.c), used by `-blockdev`: `a.b.c=v` pairs build a tree
 * of dictionaries; `,,` is a literal comma; every element needs `=`. The JSON form
 * (`-blockdev '{"driver":…}'`) builds the same tree, with scalars turned into the strings
 * the dotted form would carry, so the two forms are interchangeable.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockdevDict, BlockdevValue } from '../spec.js';
import type { CmdlineError } from './errors.js';
import { escapeValue, jsonScalarToString, splitElements } from './opts.js';

/** Parse `a.b=1,c=x` into a tree. A repeated key: the last value wins. */
export function parseKeyval(text: string, loc: string): E.Either<CmdlineError, BlockdevDict> {
  const root: BlockdevDict = {};
  for (const el of splitElements(text)) {
    const eq = el.indexOf('=');
    if (eq < 0) return E.left({ _tag: 'KeyvalSyntax', loc, detail: `Expected '=' after parameter '${el}'` });
    const key = el.slice(0, eq);
    const value = el.slice(eq + 1);
    const parts = key.split('.');
    if (parts.some((p) => p === '' || !/^[A-Za-z0-9_-]+$/.test(p))) {
      return E.left({ _tag: 'InvalidParameter', loc, param: key });
    }
    let cur = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      if (typeof next === 'string') return E.left({ _tag: 'KeyvalInconsistent', loc, key: parts.slice(0, i + 1).join('.') });
      if (next === undefined) cur[parts[i]] = {};
      cur = cur[parts[i]] as BlockdevDict;
    }
    const last = parts[parts.length - 1];
    if (typeof cur[last] === 'object') return E.left({ _tag: 'KeyvalInconsistent', loc, key });
    cur[last] = value;
  }
  return E.right(root);
}

/** The dotted text of a tree: `parseKeyval(formatKeyval(t))` gives `t` back. */
export function formatKeyval(tree: BlockdevDict): string {
  return flatten(tree, '')
    .map(([k, v]) => `${k}=${escapeValue(v)}`)
    .join(',');
}

/** Every scalar of a tree with its dotted key, depth first, in key order. */
export function flatten(tree: BlockdevDict, prefix: string): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(tree)) {
    if (v === undefined) continue;
    if (typeof v === 'string') out.push([prefix + k, v]);
    else out.push(...flatten(v, `${prefix}${k}.`));
  }
  return out;
}

/** Parse the JSON form into the same tree the dotted form gives. */
export function parseJsonTree(text: string, loc: string): E.Either<CmdlineError, BlockdevDict> {
  const parsed = E.tryCatch(
    () => JSON.parse(text) as unknown,
    (e) => ({ _tag: 'JsonSyntax', loc, detail: e instanceof Error ? e.message : String(e) }) as CmdlineError,
  );
  if (E.isLeft(parsed)) return parsed;
  const v = parsed.right;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return E.left({ _tag: 'JsonSyntax', loc, detail: 'expected a JSON object' });
  }
  const tree = fromJson(v as Record<string, unknown>, '', loc);
  return tree;
}

function fromJson(obj: Record<string, unknown> | unknown[], prefix: string, loc: string): E.Either<CmdlineError, BlockdevDict> {
  const out: BlockdevDict = {};
  const entries: [string, unknown][] = Array.isArray(obj) ? obj.map((v, i) => [String(i), v]) : Object.entries(obj);
  for (const [k, v] of entries) {
    let value: BlockdevValue | undefined;
    if (typeof v === 'object' && v !== null) {
      const sub = fromJson(v as Record<string, unknown>, `${prefix}${k}.`, loc);
      if (E.isLeft(sub)) return sub;
      if (Object.keys(sub.right).length === 0) continue; // {} says nothing the dotted form could
      value = sub.right;
    } else {
      value = jsonScalarToString(v);
      if (value === undefined) return E.left({ _tag: 'JsonSyntax', loc, detail: `unsupported value for '${prefix}${k}'` });
    }
    out[k] = value;
  }
  return E.right(out);
}
