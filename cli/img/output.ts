/**
 * How qemu-img prints: its JSON (QEMU's QDict and json-writer), its human sizes
 * (size_to_str) and its error lines (error_report).
 *
 * QEMU's JSON objects are QDicts: a hash table of 512 buckets keyed by tdb_hash(key),
 * iterated bucket by bucket, newest entry first within a bucket. So `qemu-img info
 * --output=json` lists "virtual-size" before "filename" and "format", whatever order
 * the visitor added them in. `qdictOrder` reproduces that order; callers give keys in
 * QAPI schema order (the visitor's insertion order), which only matters on a collision.
 * Strings are escaped as json-writer does: control characters, DEL and non-ASCII as
 * uppercase \uXXXX; '/' as is.
 */

/** A JSON value as QEMU's QObject: numbers are integers (bigint for what exceeds 2^53). */
export type QValue = string | number | bigint | boolean | null | readonly QValue[] | QDict;
export interface QDict {
  readonly [key: string]: QValue | undefined;
}

const QDICT_BUCKET_MAX = 512;

/** tdb_hash (qobject/qdict.c), in 32-bit unsigned arithmetic. */
function tdbHash(name: string): number {
  const bytes = new TextEncoder().encode(name);
  let value = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) value = (value + ((bytes[i] << ((i * 5) % 24)) >>> 0)) >>> 0;
  return (Math.imul(1103515243, value) + 12345) >>> 0;
}

/** The keys of `d` (undefined values dropped) in the order a QDict iterates them. */
export function qdictOrder(d: QDict): string[] {
  const keys = Object.keys(d).filter((k) => d[k] !== undefined);
  return keys
    .map((k, i) => ({ k, bucket: tdbHash(k) % QDICT_BUCKET_MAX, i }))
    .sort((a, b) => a.bucket - b.bucket || b.i - a.i)
    .map((e) => e.k);
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp > 0xffff) {
      const v = cp - 0x10000;
      out += `\\u${hex4(0xd800 | (v >> 10))}\\u${hex4(0xdc00 | (v & 0x3ff))}`;
    } else out += `\\u${hex4(cp)}`;
  }
  return out + '"';
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

function isList(v: QValue): v is readonly QValue[] {
  return Array.isArray(v);
}

/** qobject_to_json_pretty. */
export function toJsonPretty(v: QValue, indent = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  const pad = ' '.repeat(4 * (indent + 1));
  const end = ' '.repeat(4 * indent);
  // QEMU's JSON writer: an empty list is "[", a newline and "]" at the list's indent.
  if (isList(v)) return v.length ? `[\n${v.map((e) => pad + toJsonPretty(e, indent + 1)).join(',\n')}\n${end}]` : `[\n${end}]`;
  const d = v as QDict;
  const body = qdictOrder(d).map((k) => `${pad}${quote(k)}: ${toJsonPretty(d[k]!, indent + 1)}`);
  return `{\n${body.join(',\n')}\n${end}}`;
}

/** C's printf("%.3g", x) for 0 <= x < 1e21. */
export function formatG3(x: number): string {
  if (x === 0) return '0';
  const exp = Number(x.toExponential(2).split('e')[1]);
  if (exp < -4 || exp >= 3) {
    const [m, e] = x.toExponential(2).split('e');
    const n = Number(e);
    return `${stripZeros(m)}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return stripZeros(x.toFixed(2 - exp));
}

const stripZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

const SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** size_to_str (util/cutils.c): "1 MiB", "1.5 KiB", "977 KiB", "0 B". */
export function sizeToStr(val: number): string {
  // The unit is chosen so that the number printed stays below 1000 (1000 B is "0.977 KiB").
  const scaled = val / (1000 / 1024);
  const i = scaled < 1 ? 0 : Math.min(6, Math.floor(Math.floor(Math.log2(scaled)) / 10));
  return `${formatG3(val / 2 ** (i * 10))} ${SUFFIXES[i]}B`;
}

/** error_report: "qemu-img: <message>" on stderr, one prefix per line given. */
export function report(...lines: string[]): void {
  for (const l of lines) process.stderr.write(`qemu-img: ${l}\n`);
}

/** warn_report: "qemu-img: warning: <message>". */
export function warn(message: string): void {
  process.stderr.write(`qemu-img: warning: ${message}\n`);
}

/** Standard output. */
export function out(text: string): void {
  process.stdout.write(text);
}

/**
 * C's printf("%.{digits}f", x) for x >= 0: like toFixed, except that an exact tie rounds
 * to even as glibc does (3.125 prints as "3.12", where toFixed says "3.13").
 */
export function cFixed(x: number, digits: number): string {
  const exact = x.toFixed(Math.min(100, digits + 40));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return x.toFixed(digits);
  const kept = exact.slice(0, dot + 1 + digits);
  const last = Number(kept[kept.length - 1]);
  if (last % 2 === 0) return digits === 0 ? kept.slice(0, -1) : kept;
  return x.toFixed(digits);
}
