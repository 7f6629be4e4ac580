/**
 * `iopath img resize`: qemu-img resize [-f fmt] [--shrink] [--preallocation=mode] [-q]
 * filename [+ | -]size. The size is taken off the end of the command line before the
 * options are parsed, so "-1G" is a size, not an option. Shrinking needs --shrink.
 */
import * as E from 'fp-ts/lib/Either.js';
import { imageLength } from '../../host/storage/img/image.js';
import { closeImage, errorExit, hasOpt, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, parseArgs } from './common.js';
import { out, report, warn } from './output.js';
import { sizeOptionMessage, strtosz } from './size.js';

const PREALLOC_MODES = ['off', 'metadata', 'falloc', 'full'];

/** The new size from "[+|-]size" and the current one; Left is qemu-img's message. */
export function newSize(spec: string, current: bigint): E.Either<string, bigint> {
  const sign = spec[0] === '+' ? 1n : spec[0] === '-' ? -1n : 0n;
  const n = strtosz(sign === 0n ? spec : spec.slice(1));
  if (E.isLeft(n)) return E.left(sizeOptionMessage('size'));
  // qemu_opt_get_size's uint64 lands in an int64.
  const v = n.right >= 1n << 63n ? n.right - (1n << 64n) : n.right;
  return E.right(sign === 0n ? v : current + v * sign);
}

export function runResize(argv: readonly string[]): number {
  if (argv.length < 3) return errorExit('Not enough arguments');
  const sizeSpec = argv[argv.length - 1];
  const p = parseArgs(argv.slice(0, -1), 'f:q', [
    OBJECT_OPT,
    IMAGE_OPTS_OPT,
    { name: 'preallocation', arg: 'required', key: 'preallocation' },
    { name: 'shrink', arg: 'none', key: 'shrink' },
  ]);
  if (E.isLeft(p)) return p.left;
  const prealloc = optValue(p.right, 'preallocation') ?? 'off';
  if (!PREALLOC_MODES.includes(prealloc)) return report(`Invalid preallocation mode '${prealloc}'`), 1;
  if (p.right.operands.length !== 1) return errorExit('Expecting image file name and size');
  const sign = sizeSpec[0] === '+' || sizeSpec[0] === '-';
  if (E.isLeft(strtosz(sign ? sizeSpec.slice(1) : sizeSpec))) return report(sizeOptionMessage('size')), 1;
  const img = open(p.right.operands[0], optValue(p.right, 'f'), true);
  if (!img) return 1;
  const current = BigInt(imageLength(img.bs));
  const total = newSize(sizeSpec, current);
  if (E.isLeft(total)) return report(total.left), closeImage(img, 1);
  if (total.right <= 0n) return report('New image size must be positive'), closeImage(img, 1);
  if (total.right <= current && prealloc !== 'off') return report('Preallocation can only be used for growing images'), closeImage(img, 1);
  if (total.right < current && !hasOpt(p.right, 'shrink')) {
    report('Use the --shrink option to perform a shrink operation.');
    warn("Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.");
    return closeImage(img, 1);
  }
  if (total.right > BigInt(Number.MAX_SAFE_INTEGER)) return report('File too large'), closeImage(img, 1);
  const err = img.bs.truncate(Number(total.right));
  if (err) {
    const prefix = `${img.bs.nodeName}: `;
    report(err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message);
    return closeImage(img, 1);
  }
  if (!hasOpt(p.right, 'q')) out('Image resized.\n');
  return closeImage(img, 0);
}
