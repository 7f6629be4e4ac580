/**
 * The op language of `iopath trace --op`: a list of file operations, one per `;` or line,
 * each a word and its arguments, run in order by one process (ops/run.ts):
 *
 * ```
 * open PATH [direct|sync|dsync|append]…   open(2) O_RDWR|O_CREAT (and O_DIRECT, O_SYNC…)
 * create PATH                              open(2) O_RDWR|O_CREAT|O_TRUNC
 * close PATH
 * write PATH LEN@OFF                       pwrite(2) LEN bytes at OFF (fio sizes: 4k@8k)
 * read PATH LEN@OFF                        pread(2)
 * fsync PATH | fdatasync PATH
 * truncate PATH LEN                        ftruncate(2)
 * unlink PATH | mkdir PATH | rmdir PATH | stat PATH | readdir PATH
 * rename FROM TO
 * sync                                     sync(2)
 * drop_caches [1|2|3]                      echo N > /proc/sys/vm/drop_caches (default 3)
 * sleep TIME                               5s, 100ms, 30 (seconds)
 * ```
 *
 * Operations on a file's data (`write`, `read`, `fsync`, `fdatasync`, `truncate`) use the
 * descriptor an earlier `open`/`create` of that path returned, and open it themselves
 * (O_RDWR|O_CREAT) when there is none. A mistake is an error naming the op by number and
 * text, and what was expected.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseFioSize, parseFioTime } from '../fio/values.js';

export type OpenFlag = 'direct' | 'sync' | 'dsync' | 'append';

export type Op =
  | { readonly op: 'open'; readonly path: string; readonly flags: readonly OpenFlag[] }
  | { readonly op: 'create' | 'close' | 'fsync' | 'fdatasync' | 'unlink' | 'mkdir' | 'rmdir' | 'stat' | 'readdir'; readonly path: string }
  | { readonly op: 'write' | 'read'; readonly path: string; readonly len: number; readonly offset: number }
  | { readonly op: 'truncate'; readonly path: string; readonly len: number }
  | { readonly op: 'rename'; readonly from: string; readonly to: string }
  | { readonly op: 'sync' }
  | { readonly op: 'drop_caches'; readonly what: 1 | 2 | 3 }
  | { readonly op: 'sleep'; readonly ns: number };

export type OpName = Op['op'];

/** Each op's arguments, as the error messages and `--help` show them. */
export const OP_SYNTAX: Readonly<Record<OpName, string>> = {
  open: 'open PATH [direct|sync|dsync|append]…',
  create: 'create PATH',
  close: 'close PATH',
  write: 'write PATH LEN@OFF',
  read: 'read PATH LEN@OFF',
  fsync: 'fsync PATH',
  fdatasync: 'fdatasync PATH',
  truncate: 'truncate PATH LEN',
  unlink: 'unlink PATH',
  mkdir: 'mkdir PATH',
  rmdir: 'rmdir PATH',
  stat: 'stat PATH',
  readdir: 'readdir PATH',
  rename: 'rename FROM TO',
  sync: 'sync',
  drop_caches: 'drop_caches [1|2|3]',
  sleep: 'sleep TIME',
};

export interface OpError {
  /** 1-based position in the list. */
  readonly index: number;
  readonly text: string;
  readonly message: string;
}

export const opErrorMessage = (e: OpError): string => `op ${e.index} '${e.text}': ${e.message}`;

const OPEN_FLAGS: readonly OpenFlag[] = ['direct', 'sync', 'dsync', 'append'];
const PATH_OPS = ['create', 'close', 'fsync', 'fdatasync', 'unlink', 'mkdir', 'rmdir', 'stat', 'readdir'] as const;

/** Parse one op (without its position); an error message when it is not one. */
export function parseOp(text: string): E.Either<string, Op> {
  const [word, ...args] = text.trim().split(/\s+/);
  if (!Object.hasOwn(OP_SYNTAX, word)) return E.left(`unknown operation '${word}' (expected one of ${Object.keys(OP_SYNTAX).join(', ')})`);
  const name = word as OpName;
  const usage = (why: string): E.Either<string, Op> => E.left(`${why}; usage: ${OP_SYNTAX[name]}`);
  const path = (p: string | undefined): p is string => p !== undefined && p.startsWith('/');
  const want = (n: number): string | undefined =>
    args.length === n ? undefined : `expected ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`;
  switch (name) {
    case 'open': {
      if (!path(args[0])) return usage('expected an absolute PATH');
      const bad = args.slice(1).find((f) => !OPEN_FLAGS.includes(f as OpenFlag));
      if (bad !== undefined) return usage(`unknown open flag '${bad}'`);
      return E.right({ op: 'open', path: args[0], flags: args.slice(1) as OpenFlag[] });
    }
    case 'write':
    case 'read': {
      const w = want(2);
      if (w) return usage(w);
      if (!path(args[0])) return usage('expected an absolute PATH');
      const m = /^([^@]+)@(.+)$/.exec(args[1]);
      const len = m ? parseFioSize(m[1]) : undefined;
      const offset = m ? parseFioSize(m[2]) : undefined;
      if (len === undefined || offset === undefined || len === 0) return usage(`'${args[1]}' is not LEN@OFF (sizes like 4096, 4k, 1m; LEN > 0)`);
      return E.right({ op: name, path: args[0], len, offset });
    }
    case 'truncate': {
      const w = want(2);
      if (w) return usage(w);
      if (!path(args[0])) return usage('expected an absolute PATH');
      const len = parseFioSize(args[1]);
      if (len === undefined) return usage(`'${args[1]}' is not a size`);
      return E.right({ op: 'truncate', path: args[0], len });
    }
    case 'rename': {
      const w = want(2);
      if (w) return usage(w);
      if (!path(args[0]) || !path(args[1])) return usage('expected two absolute paths');
      return E.right({ op: 'rename', from: args[0], to: args[1] });
    }
    case 'sync': {
      const w = want(0);
      return w ? usage(w) : E.right({ op: 'sync' });
    }
    case 'drop_caches': {
      if (args.length > 1) return usage(`expected at most 1 argument, got ${args.length}`);
      const what = args.length === 0 ? 3 : Number(args[0]);
      if (what !== 1 && what !== 2 && what !== 3) return usage(`'${args[0]}' is not 1, 2 or 3`);
      return E.right({ op: 'drop_caches', what });
    }
    case 'sleep': {
      const w = want(1);
      if (w) return usage(w);
      const ns = parseFioTime(args[0]);
      if (ns === undefined) return usage(`'${args[0]}' is not a time (5s, 100ms, 250us, 30)`);
      return E.right({ op: 'sleep', ns });
    }
    default: {
      const w = want(1);
      if (w) return usage(w);
      if (!path(args[0])) return usage('expected an absolute PATH');
      return E.right({ op: name as (typeof PATH_OPS)[number], path: args[0] });
    }
  }
}

/** Parse an op list (`;` or newline separated; empty items are skipped). */
export function parseOps(text: string): E.Either<OpError, Op[]> {
  const items = text.split(/[;\n]/).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) return E.left({ index: 0, text: text.trim(), message: 'no operations given' });
  const ops: Op[] = [];
  for (const [i, t] of items.entries()) {
    const r = parseOp(t);
    if (E.isLeft(r)) return E.left({ index: i + 1, text: t, message: r.left });
    ops.push(r.right);
  }
  return E.right(ops);
}

/** An op as text, in the language's own syntax. */
export function formatOp(o: Op): string {
  switch (o.op) {
    case 'open':
      return ['open', o.path, ...o.flags].join(' ');
    case 'write':
    case 'read':
      return `${o.op} ${o.path} ${o.len}@${o.offset}`;
    case 'truncate':
      return `truncate ${o.path} ${o.len}`;
    case 'rename':
      return `rename ${o.from} ${o.to}`;
    case 'sync':
      return 'sync';
    case 'drop_caches':
      return `drop_caches ${o.what}`;
    case 'sleep':
      return `sleep ${o.ns % 1e9 === 0 ? `${o.ns / 1e9}s` : o.ns % 1e6 === 0 ? `${o.ns / 1e6}ms` : `${o.ns / 1e3}us`}`;
    default:
      return `${o.op} ${o.path}`;
  }
}
