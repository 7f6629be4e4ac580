/**
 * The machine-wide options: `-m` (hw/core/machine.c / softmmu/vl.c `parse_memory_options`),
 * `-smp`, and the KVM knobs, which come from `-accel kvm`, `-machine accel=`, and
 * `-cpu …,kvm-pv-eoi=`.
 *
 * APICv and halt polling are host settings (kvm_intel.enable_apicv, kvm.halt_poll_ns or
 * KVM_CAP_HALT_POLL), not QEMU options; iopath takes them as `-accel kvm,x-apicv=off`
 * and `-accel kvm,x-halt-poll-ns=N`, with the `x-` prefix QEMU gives properties that are
 * not a stable interface.
 */
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_MEM_BYTES, type KvmSpec } from '../spec.js';
import { SIZE_HINT, type CmdlineError } from './errors.js';
import { formatBool, formatQemuSize, parseBool, parseOpts, parseQemuSize, parseUint, splitElements } from './opts.js';

/** QEMU rounds guest RAM up to 8 KiB. */
export const RAM_ALIGN = 8192;
/** The most vCPUs iopath accepts (QEMU's q35 allows more; nothing here needs them). */
export const MAX_CPUS = 1024;

/** `-m [size=]N[,slots=…,maxmem=…]`; a bare number is MiB; 0 means the default. */
export function parseMem(text: string, loc: string): E.Either<CmdlineError, number> {
  let size: string | undefined;
  for (const { key, value } of parseOpts(text, 'size')) {
    if (key === 'size') size = value;
    else if (key !== 'slots' && key !== 'maxmem') return E.left({ _tag: 'InvalidParameter', loc, param: key });
  }
  if (size === undefined) return E.right(DEFAULT_MEM_BYTES);
  // As QEMU: parse as a size in bytes, then a value with no suffix is a number of MiB
  // (so a fraction needs a suffix: `-m 1.5G`, not `-m 1.5`).
  const r = parseQemuSize(size);
  const legacyMiB = /[0-9]$/.test(size);
  if ('error' in r || (legacyMiB && !Number.isSafeInteger(r.ok * 2 ** 20))) {
    return E.left(
      'ok' in r || r.error === 'range'
        ? { _tag: 'ValueOutOfRange', loc, param: 'size', value: size }
        : { _tag: 'ParameterExpects', loc, param: 'size', expects: 'a non-negative number below 2^64', hint: SIZE_HINT },
    );
  }
  const requested = legacyMiB ? r.ok * 2 ** 20 : r.ok;
  const bytes = requested === 0 ? DEFAULT_MEM_BYTES : Math.ceil(requested / RAM_ALIGN) * RAM_ALIGN;
  return E.right(bytes);
}

const SMP_KEYS = ['cpus', 'sockets', 'dies', 'clusters', 'cores', 'threads', 'maxcpus'] as const;

/** `-smp [cpus=]N[,sockets=…,cores=…,threads=…]`; without cpus, the topology's product. */
export function parseSmp(text: string, loc: string): E.Either<CmdlineError, number> {
  const v: Partial<Record<(typeof SMP_KEYS)[number], number>> = {};
  for (const { key, value } of parseOpts(text, 'cpus')) {
    if (!(SMP_KEYS as readonly string[]).includes(key)) return E.left({ _tag: 'InvalidParameter', loc, param: key });
    const n = parseUint(value);
    if (n === undefined || !Number.isFinite(n)) return E.left({ _tag: 'ParameterExpects', loc, param: key, expects: 'a number' });
    v[key as (typeof SMP_KEYS)[number]] = n;
  }
  const cpus = v.cpus ?? v.maxcpus ?? (v.sockets ?? 1) * (v.dies ?? 1) * (v.clusters ?? 1) * (v.cores ?? 1) * (v.threads ?? 1);
  if (cpus < 1) return E.left({ _tag: 'SmpCpus', loc, cpus, bound: 'min', limit: 1 });
  if (cpus > MAX_CPUS) return E.left({ _tag: 'SmpCpus', loc, cpus, bound: 'max', limit: MAX_CPUS });
  return E.right(cpus);
}

function checkAccel(name: string, loc: string): E.Either<CmdlineError, void> {
  // `-machine accel=kvm:tcg` lists fallbacks; KVM first is what is modelled.
  const first = name.split(':')[0];
  return first === 'kvm' ? E.right(undefined) : E.left({ _tag: 'NotModelled', loc, what: `accel=${first} (iopath models KVM)` });
}

function checkIrqchip(v: string, loc: string): E.Either<CmdlineError, void> {
  if (v === 'split' || parseBool(v) === true) return E.right(undefined);
  return E.left({ _tag: 'NotModelled', loc, what: `kernel-irqchip=${v} (a userspace interrupt controller)` });
}

/** `-accel kvm[,x-apicv=on|off][,x-halt-poll-ns=N][,kernel-irqchip=on|split]`. */
export function parseAccel(text: string, loc: string, kvm: KvmSpec): E.Either<CmdlineError, void> {
  for (const { key, value } of parseOpts(text, 'accel')) {
    let r: E.Either<CmdlineError, void>;
    if (key === 'accel') r = checkAccel(value, loc);
    else if (key === 'kernel-irqchip') r = checkIrqchip(value, loc);
    else if (key === 'x-apicv') {
      const b = parseBool(value);
      if (b === undefined) return E.left({ _tag: 'ParameterExpects', loc, param: key, expects: "'on' or 'off'" });
      kvm.apicv = b;
      r = E.right(undefined);
    } else if (key === 'x-halt-poll-ns') {
      const n = parseUint(value);
      if (n === undefined || n > 0xffffffff) return E.left({ _tag: 'ParameterExpects', loc, param: key, expects: 'uint32' });
      kvm.haltPollNs = n;
      r = E.right(undefined);
    } else r = E.left({ _tag: 'PropertyNotFound', loc, type: 'kvm-accel', prop: key });
    if (E.isLeft(r)) return r;
  }
  return E.right(undefined);
}

/** `-machine [type=]q35[,accel=kvm]…`: the type and other properties are accepted and ignored. */
export function parseMachine(text: string, loc: string): E.Either<CmdlineError, void> {
  for (const { key, value } of parseOpts(text, 'type')) {
    const r = key === 'accel' ? checkAccel(value, loc) : key === 'kernel-irqchip' ? checkIrqchip(value, loc) : E.right(undefined);
    if (E.isLeft(r)) return r;
  }
  return E.right(undefined);
}

const PV_EOI = new Set(['kvm-pv-eoi', 'kvm_pv_eoi']);

/** `-cpu model[,+feat|-feat|feat=on|off…]`: only kvm-pv-eoi matters; the rest is ignored. */
export function parseCpu(text: string, loc: string, kvm: KvmSpec): E.Either<CmdlineError, void> {
  for (const el of splitElements(text).slice(1)) {
    const sign = el[0];
    if ((sign === '+' || sign === '-') && PV_EOI.has(el.slice(1))) {
      kvm.pvEoi = sign === '+';
      continue;
    }
    const eq = el.indexOf('=');
    const name = eq < 0 ? el : el.slice(0, eq);
    if (!PV_EOI.has(name)) continue;
    const b = eq < 0 ? true : parseBool(el.slice(eq + 1));
    if (b === undefined) return E.left({ _tag: 'ParameterExpects', loc, param: name, expects: "'on' or 'off'" });
    kvm.pvEoi = b;
  }
  return E.right(undefined);
}

/** The canonical machine options: `-m`, `-mem-prealloc` when set, `-smp`, `-accel kvm[…]`, and `-cpu` when PV EOI is off. */
export function formatMachine(memBytes: number, prealloc: boolean, cpus: number, kvm: KvmSpec, defaults: KvmSpec): string[] {
  const accel = ['kvm'];
  if (kvm.apicv !== defaults.apicv) accel.push(`x-apicv=${formatBool(kvm.apicv)}`);
  if (kvm.haltPollNs !== defaults.haltPollNs) accel.push(`x-halt-poll-ns=${kvm.haltPollNs}`);
  const out = ['-m', formatQemuSize(memBytes), ...(prealloc ? ['-mem-prealloc'] : []), '-smp', String(cpus), '-accel', accel.join(',')];
  if (kvm.pvEoi !== defaults.pvEoi) out.push('-cpu', `host,kvm-pv-eoi=${formatBool(kvm.pvEoi)}`);
  return out;
}
