/**
 * QEMU's option syntax (util/qemu-option.c, "QemuOpts"): `a=1,b=x,,y,flag` is a list of
 * key=value pairs separated by commas, where `,,` stands for a literal comma. The first
 * element may be a bare value for the option's implied key (`-device virtio-blk-pci,…`
 * is `driver=virtio-blk-pci`, `-m 4G` is `size=4G`); any later bare `key` means `key=on`.
 * The value scanners here follow QEMU's: numbers in C's base 0 (`0x10`, `010`, `16`),
 * booleans as on/off/yes/no/true/false, sizes with QEMU's suffixes.
 */

export interface OptPair {
  readonly key: string;
  readonly value: string;
}

/** Split on single commas; `,,` is a literal comma. A trailing comma ends the list. */
export function splitElements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== ',') {
      cur += c;
    } else if (text[i + 1] === ',') {
      cur += ',';
      i++;
    } else {
      out.push(cur);
      cur = '';
    }
  }
  if (cur !== '' || out.length === 0) out.push(cur);
  return out;
}

/** Parse QemuOpts text into pairs, in order (a repeated key appears twice; the last wins). */
export function parseOpts(text: string, impliedKey?: string): OptPair[] {
  return splitElements(text).map((el, i) => {
    const eq = el.indexOf('=');
    if (eq >= 0) return { key: el.slice(0, eq), value: el.slice(eq + 1) };
    if (i === 0 && impliedKey !== undefined) return { key: impliedKey, value: el };
    return { key: el, value: 'on' };
  });
}

/** `,` → `,,` so a value survives `splitElements`. */
export function escapeValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** QEMU's `is_help_option`. */
export function isHelpValue(v: string): boolean {
  return v === 'help' || v === '?';
}

/** on/yes/true → true, off/no/false → false (qapi_bool_parse), anything else undefined. */
export function parseBool(v: string): boolean | undefined {
  if (v === 'on' || v === 'yes' || v === 'true') return true;
  if (v === 'off' || v === 'no' || v === 'false') return false;
  return undefined;
}

export function formatBool(b: boolean): string {
  return b ? 'on' : 'off';
}

/**
 * An unsigned integer in C's base 0 (`strtoull(s, NULL, 0)`): `0x1f`, `017`, `15`.
 * Undefined when it is not a number; Infinity when it does not fit a double exactly.
 */
export function parseUint(v: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) n = parseInt(v.slice(2), 16);
  else if (/^0[0-7]*$/.test(v)) n = parseInt(v, 8);
  else if (/^[1-9][0-9]*$/.test(v)) n = Number(v);
  else return undefined;
  return Number.isSafeInteger(n) ? n : Infinity;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
  e: 2 ** 60,
};

export type SizeResult = { ok: number } | { error: 'syntax' | 'range' };

/**
 * QEMU's `qemu_strtosz`: a decimal (optionally with a fraction) or hex number with an
 * optional suffix B, K, M, G, T, P or E (either case, powers of 1024). A fraction needs a
 * suffix bigger than bytes. `defaultUnit` applies when there is no suffix. Values beyond
 * 2^53 (JavaScript's exact integers, 8 PiB) are out of range here, where QEMU's limit is
 * 2^64.
 */
export function parseQemuSize(v: string, defaultUnit: keyof typeof SIZE_UNITS = 'b'): SizeResult {
  const m = /^(?:(0[xX][0-9a-fA-F]+)|(\d+)(?:\.(\d+))?)([bBkKmMgGtTpPeE])?$/.exec(v);
  if (!m) return { error: 'syntax' };
  const [, hex, int, frac, suffix] = m;
  const mult = SIZE_UNITS[(suffix ?? defaultUnit).toLowerCase()];
  if (frac !== undefined && mult === 1) return { error: 'syntax' };
  const whole = hex !== undefined ? parseInt(hex.slice(2), 16) : Number(int);
  const bytes = Math.floor(whole * mult + (frac !== undefined ? Number(`0.${frac}`) * mult : 0));
  if (!Number.isSafeInteger(bytes)) return { error: 'range' };
  return { ok: bytes };
}

/** The shortest exact QEMU size text: `4G`, `512M`, `8K`, `100B`. */
export function formatQemuSize(bytes: number): string {
  for (const s of ['E', 'P', 'T', 'G', 'M', 'K'] as const) {
    const mult = SIZE_UNITS[s.toLowerCase()];
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${s}`;
  }
  return `${bytes}B`;
}

/** QEMU's `id_wellformed`: a letter, then letters, digits, `-`, `.`, `_`. */
export function isIdentifier(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]*$/.test(s);
}

/** Turn JSON option values into the strings the dotted syntax would carry. */
export function jsonScalarToString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return formatBool(v);
  if (v === null) return '';
  return undefined;
}
