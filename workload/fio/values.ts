/**
 * fio's value syntax (fio HOWTO, "Parameter types"; parse.c `str_to_decimal`).
 *
 * Sizes: an integer (decimal or 0x hex) with an optional, case-insensitive suffix. fio's
 * default `kb_base=1024` is its "compatibility mode": the SI-looking suffixes k, kb, m,
 * mb, g, gb, t, tb, p, pb are powers of 1024 (`4k` = 4096), and the IEC-looking ones kib,
 * mib, gib, tib, pib are, backwards, powers of 1000. `b` or no suffix means bytes.
 *
 * Times: an integer with an optional unit, seconds when there is none: us/usec, ms/msec,
 * s/sec, m/min, h, d.
 */

const SIZE_SUFFIX: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 1e3,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 1e6,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 1e9,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 1e12,
  p: 2 ** 50,
  pb: 2 ** 50,
  pib: 1e15,
};

/** Bytes, or undefined when the text is not a fio size (or exceeds 2^53). */
export function parseFioSize(v: string): number | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|\d+)\s*([a-zA-Z]*)$/.exec(v.trim());
  if (!m) return undefined;
  const mult = SIZE_SUFFIX[m[2].toLowerCase()];
  if (mult === undefined) return undefined;
  const n = m[1].startsWith('0x') || m[1].startsWith('0X') ? parseInt(m[1].slice(2), 16) : Number(m[1]);
  const bytes = n * mult;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const TIME_UNIT_NS: Record<string, number> = {
  us: 1e3,
  usec: 1e3,
  ms: 1e6,
  msec: 1e6,
  '': 1e9,
  s: 1e9,
  sec: 1e9,
  m: 60e9,
  min: 60e9,
  h: 3600e9,
  d: 86400e9,
};

/** Nanoseconds, or undefined. */
export function parseFioTime(v: string): number | undefined {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(v.trim());
  if (!m) return undefined;
  const unit = TIME_UNIT_NS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const ns = Number(m[1]) * unit;
  return Number.isSafeInteger(ns) ? ns : undefined;
}

/** fio booleans are 0 and 1; the words are accepted too. */
export function parseFioBool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes' || s === 'on') return true;
  if (s === '0' || s === 'false' || s === 'no' || s === 'off') return false;
  return undefined;
}
