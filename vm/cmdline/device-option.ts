/**
 * `-device`: the model name (the implied first value, or `driver=`), the generic qdev
 * options every device takes (`id`, `bus`), help requests, and then the model's own
 * properties. Both the QemuOpts form and the JSON form (`-device '{"driver":…}'`).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { DeviceSpec } from '../spec.js';
import { deviceListHelp, findDeviceModel } from './devices.js';
import type { CmdlineError } from './errors.js';
import { objectPairs } from './object.js';
import { isHelpValue, isIdentifier, parseOpts, type OptPair } from './opts.js';
import type { DefaultContext, PropEnv } from './props.js';

export interface DevicePairs {
  readonly driver: string;
  readonly id?: string;
  /** `bus=` as given. */
  readonly bus?: string;
  readonly props: OptPair[];
  readonly help: boolean;
}

/** Split `-device` text into the model, the generic options and the model's properties. */
export function devicePairs(text: string, loc: string): E.Either<CmdlineError, DevicePairs> {
  let pairs: OptPair[];
  if (text.trimStart().startsWith('{')) {
    // The JSON form has the same shape as -object's, keyed by "driver".
    const r = objectPairs(text, loc);
    if (E.isLeft(r)) return r;
    pairs = r.right;
  } else {
    pairs = parseOpts(text, 'driver');
  }
  let driver: string | undefined;
  let id: string | undefined;
  let bus: string | undefined;
  let help = false;
  const props: OptPair[] = [];
  for (const p of pairs) {
    if (p.key === 'driver') driver = p.value;
    else if (p.key === 'id') id = p.value;
    else if (p.key === 'bus') bus = p.value;
    else if (isHelpValue(p.key) && p.value === 'on') help = true;
    else props.push(p);
  }
  if (driver === undefined) return E.left({ _tag: 'MissingParameter', loc, param: 'driver' });
  return E.right({ driver, ...(id !== undefined ? { id } : {}), ...(bus !== undefined ? { bus } : {}), props, help });
}

/** The help text a `-device` asks for, if it asks for one. */
export function deviceHelpRequest(text: string, loc: string): string | undefined {
  const r = devicePairs(text, loc);
  if (E.isLeft(r)) return undefined;
  if (isHelpValue(r.right.driver)) return deviceListHelp();
  if (!r.right.help) return undefined;
  return findDeviceModel(r.right.driver)?.help();
}

/** Parse one `-device` into its spec (references checked against `env`). */
export function parseDevice(text: string, loc: string, env: PropEnv, ctx: DefaultContext): E.Either<CmdlineError, DeviceSpec> {
  const r = devicePairs(text, loc);
  if (E.isLeft(r)) return r;
  const { driver, id, props } = r.right;
  const model = findDeviceModel(driver);
  if (!model) return E.left({ _tag: 'InvalidDeviceModel', loc, name: driver });
  if (id !== undefined && !isIdentifier(id)) return E.left({ _tag: 'BadIdentifier', loc, param: 'id', value: id });
  const bus = resolveBus(model.bus, model.name, r.right.bus, env, loc);
  if (E.isLeft(bus)) return bus;
  return model.create(props, { loc, env, ...(id !== undefined ? { id } : {}), ...(bus.right !== undefined ? { bus: bus.right } : {}) }, ctx);
}

/** The machine's one PCI bus (i440FX's root bus). */
export const PCI_BUS_NAME = 'pci.0';

/**
 * qdev_device_add's bus choice: `bus=` must name a bus, of the type the device plugs into;
 * without it, the first bus of that type. PCI devices all go on pci.0 (undefined here); a
 * SCSI device gets its bus's name.
 */
function resolveBus(type: 'PCI' | 'SCSI', driver: string, given: string | undefined, env: PropEnv, loc: string): E.Either<CmdlineError, string | undefined> {
  const scsi = env.scsiBuses();
  if (given === undefined) {
    if (type === 'PCI') return E.right(undefined);
    return scsi.length > 0 ? E.right(scsi[0]) : E.left({ _tag: 'NoBusForDevice', loc, busType: 'SCSI', driver });
  }
  const givenType = given === PCI_BUS_NAME ? 'PCI' : scsi.includes(given) ? 'SCSI' : undefined;
  if (givenType === undefined) return E.left({ _tag: 'BusNotFound', loc, bus: given });
  if (givenType !== type) return E.left({ _tag: 'BusWrongType', loc, driver, busType: givenType });
  return E.right(type === 'SCSI' ? given : undefined);
}
