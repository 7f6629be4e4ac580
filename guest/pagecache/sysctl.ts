/**
 * The page cache's knobs under their sysctl names (/proc/sys/vm/*, and the block queue's
 * read_ahead_kb), each declared once with its default, help and source
 * (mm/page-writeback.c, Documentation/admin-guide/sysctl/vm.rst, include/linux/pagemap.h;
 * see ../shared/reference/facts.md §6.3).
 */
import * as E from 'fp-ts/lib/Either.js';

export interface VmSysctl {
  dirty_ratio: number;
  dirty_background_ratio: number;
  dirty_bytes: number;
  dirty_background_bytes: number;
  dirty_writeback_centisecs: number;
  dirty_expire_centisecs: number;
  read_ahead_kb: number;
}

export interface SysctlEntry {
  readonly default: number;
  readonly help: string;
  readonly source: string;
  /** Largest value accepted (ratios are percentages). */
  readonly max?: number;
}

const PW = 'mm/page-writeback.c';

export const VM_SYSCTLS: Record<keyof VmSysctl, SysctlEntry> = {
  dirty_ratio: { default: 20, max: 100, help: 'percent of available memory (free + page cache) that may be dirty before a writer is throttled in balance_dirty_pages', source: `${PW} vm_dirty_ratio` },
  dirty_background_ratio: { default: 10, max: 100, help: 'percent of available memory dirty above which the flusher starts background writeback', source: `${PW} dirty_background_ratio` },
  dirty_bytes: { default: 0, help: 'dirty limit in bytes; when non-zero it replaces dirty_ratio', source: `${PW} vm_dirty_bytes` },
  dirty_background_bytes: { default: 0, help: 'background threshold in bytes; when non-zero it replaces dirty_background_ratio', source: `${PW} dirty_background_bytes` },
  dirty_writeback_centisecs: { default: 500, help: 'the flusher wakes this often (1/100 s) while dirty data exists; 0 disables periodic writeback', source: `${PW} dirty_writeback_interval = 5 * 100` },
  dirty_expire_centisecs: { default: 3000, help: 'data dirty for longer than this (1/100 s) is written at the next flusher wakeup', source: `${PW} dirty_expire_interval = 30 * 100` },
  read_ahead_kb: { default: 128, help: 'maximum readahead window (KiB) of a new mapping; 0 disables readahead', source: 'include/linux/pagemap.h VM_READAHEAD_PAGES = SZ_128K / PAGE_SIZE (/sys/block/<dev>/queue/read_ahead_kb)' },
};

export const DEFAULT_VM_SYSCTL: VmSysctl = Object.fromEntries(Object.entries(VM_SYSCTLS).map(([k, v]) => [k, v.default])) as unknown as VmSysctl;

export type SysctlError = { _tag: 'UnknownSysctl'; name: string } | { _tag: 'BadSysctlValue'; name: string; value: unknown };

export function sysctlErrorMessage(e: SysctlError): string {
  switch (e._tag) {
    case 'UnknownSysctl':
      return `vm sysctl: unknown knob '${e.name}' (known: ${Object.keys(VM_SYSCTLS).join(', ')})`;
    case 'BadSysctlValue': {
      const max = VM_SYSCTLS[e.name as keyof VmSysctl]?.max;
      return `vm sysctl: '${e.name}' must be a non-negative integer${max === undefined ? '' : ` no larger than ${max}`}, got ${JSON.stringify(e.value)}`;
    }
  }
}

/** Apply `overrides` to `base` (the defaults), naming the first bad entry. */
export function vmSysctl(overrides: Readonly<Record<string, unknown>> = {}, base: VmSysctl = DEFAULT_VM_SYSCTL): E.Either<SysctlError, VmSysctl> {
  const out: VmSysctl = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in VM_SYSCTLS)) return E.left({ _tag: 'UnknownSysctl', name: k });
    const entry = VM_SYSCTLS[k as keyof VmSysctl];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || (entry.max !== undefined && v > entry.max)) {
      return E.left({ _tag: 'BadSysctlValue', name: k, value: v });
    }
    out[k as keyof VmSysctl] = v;
  }
  return E.right(out);
}
