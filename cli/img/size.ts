/**
 * Sizes on qemu-img's command line: qemu_strtosz (util/cutils.c) and the two ways
 * qemu-img reports a bad one.
 *
 * qemu_strtosz accepts a decimal number (a fraction only with a suffix: "1.5k"), or hex
 * ("0x10", no fraction, no suffix), after optional blanks, followed by one optional suffix
 * b/k/M/G/T/P/E (either case, powers of 1024); nothing may follow. Results are unsigned
 * 64-bit, so they are computed here as bigint and only then checked against what the
 * caller allows.
 */
import * as E from 'fp-ts/lib/Either.js';

const SUFFIX: Readonly<Record<string, bigint>> = { b: 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n, p: 1n << 50n, e: 1n << 60n };
const U64_MAX = (1n << 64n) - 1n;
export const INT64_MAX = (1n << 63n) - 1n;

/** Why a size did not parse: not a size at all, or more than 64 bits. */
export type SizeError = 'invalid' | 'range';

/** qemu_strtosz: the bytes `text` names. */
export function strtosz(text: string): E.Either<SizeError, bigint> {
  const m = /^[ \t\n\v\f\r]*\+?(\d+)/.exec(text);
  if (!m) return E.left('invalid');
  let rest = text.slice(m[0].length);
  let val = BigInt(m[1]);
  if (val > U64_MAX) return E.left('range');
  if (val === 0n && /^[xX]/.test(rest)) {
    const hex = /^[xX]([0-9a-fA-F]+)$/.exec(rest);
    if (!hex) return E.left('invalid');
    val = BigInt('0x' + hex[1]);
    return val > U64_MAX ? E.left('range') : E.right(val);
  }
  let fraction = 0;
  if (rest.startsWith('.')) {
    const f = /^\.(\d*)/.exec(rest)!;
    fraction = f[1] === '' ? 0 : Number('0.' + f[1]);
    rest = rest.slice(f[0].length);
  }
  const mul = rest.length > 0 ? SUFFIX[rest[0].toLowerCase()] : undefined;
  if (mul !== undefined) rest = rest.slice(1);
  if (rest.length > 0) return E.left('invalid');
  const scale = mul ?? 1n;
  if (scale === 1n) return fraction !== 0 ? E.left('invalid') : E.right(val);
  // 64.64 fixed point, as QEMU computes it, rounding half up.
  const valf = BigInt(Math.floor(fraction * 2 ** 64));
  const frac = valf * scale;
  const total = val * scale + (frac >> 64n) + ((frac >> 63n) & 1n);
  return total > U64_MAX ? E.left('range') : E.right(total);
}

/**
 * qemu-img's cvtnum: a size between 0 and INT64_MAX, or its two-line message naming
 * `what` ("image size", "buffer size for sparse output").
 */
export function cvtnum(what: string, text: string): E.Either<string[], bigint> {
  const r = strtosz(text);
  if (E.isLeft(r) && r.left === 'invalid') {
    return E.left([`Invalid ${what} specified. You may use k, M, G, T, P or E suffixes for`, 'kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.']);
  }
  if (E.isLeft(r) || r.right > INT64_MAX) return E.left([`Invalid ${what} specified. Must be between 0 and ${INT64_MAX}.`]);
  return E.right(r.right);
}

/** The message of a QemuOpts size option that did not parse (`-o size=x`, resize's size). */
export function sizeOptionMessage(name: string): string {
  return `Parameter '${name}' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.`;
}
