/**
 * The table of block drivers (QEMU's bdrv_register / bdrv_find_format /
 * bdrv_find_protocol). Drivers register themselves when their module loads; callers find
 * them by name or by a filename's protocol prefix. Nothing else in the block layer names
 * a driver.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AnyBlockDriver, BlockDriver } from './driver.js';
import type { BlockError } from './errors.js';
import type { OptionTable } from './options.js';

const drivers = new Map<string, AnyBlockDriver>();

/** Add a driver to the table. Registering a name twice is a simulator bug (throws). */
export function registerBlockDriver<S, O extends OptionTable>(drv: BlockDriver<S, O>): void {
  if (drivers.has(drv.formatName)) throw new Error(`block: driver '${drv.formatName}' registered twice`);
  drivers.set(drv.formatName, drv as unknown as AnyBlockDriver);
}

/** The driver `driver=name` selects, if any. */
export function findBlockDriver(name: string): AnyBlockDriver | undefined {
  return drivers.get(name);
}

/** Every registered driver, in registration order. */
export function blockDrivers(): readonly AnyBlockDriver[] {
  return [...drivers.values()];
}

/** The default protocol for a filename without a 'proto:' prefix. */
export const DEFAULT_PROTOCOL = 'file';

/**
 * bdrv_find_protocol: 'null-co://' → null-co; a plain path (no ':' before any '/') or
 * 'file:...' → file; an unknown prefix → "Unknown protocol".
 */
export function findProtocolDriver(filename: string): E.Either<BlockError, AnyBlockDriver> {
  const colon = filename.indexOf(':');
  const slash = filename.indexOf('/');
  const prefix = colon > 0 && (slash < 0 || colon < slash) ? filename.slice(0, colon) : undefined;
  if (prefix === undefined) {
    const drv = drivers.get(DEFAULT_PROTOCOL);
    return drv ? E.right(drv) : E.left({ _tag: 'UnknownDriver', driver: DEFAULT_PROTOCOL });
  }
  for (const drv of drivers.values()) if (drv.protocol && drv.protocolName === prefix) return E.right(drv);
  return E.left({ _tag: 'UnknownProtocol', protocol: prefix, filename });
}

/** bdrv_probe_all: the format driver whose probe scores `header` highest (raw, at 1, is the fallback). */
export function probeFormat(header: Uint8Array, filename: string): AnyBlockDriver | undefined {
  let best: AnyBlockDriver | undefined;
  let bestScore = 0;
  for (const drv of drivers.values()) {
    if (drv.protocol || !drv.probe) continue;
    const score = drv.probe(header, filename);
    if (score > bestScore) {
      best = drv;
      bestScore = score;
    }
  }
  return best;
}
