/**
 * The fio options iopath reads, each declared once: its name and aliases (fio's), value
 * type, default, help, and what it sets. The parser, the defaults (`FIO_DEFAULTS`) and the
 * help text (`fioOptionsHelp`) are all driven from this table.
 */
import type { FioIoengine, FioJob, FioRw } from './job.js';
import { parseFioBool, parseFioSize, parseFioTime } from './values.js';

export interface FioValueType<T> {
  /** As `fio --cmdhelp` names it: str, int, bool, time, or the list of choices. */
  readonly name: string;
  parse(raw: string): T | undefined;
  /** Said after "invalid value" for choices. */
  readonly expected?: string;
}

export interface FioOption<T> {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly type: FioValueType<T>;
  /** fio's default, in job-file syntax; undefined when unset by default. */
  readonly default?: string;
  readonly help: string;
  set(job: FioJob, value: T): void;
}

const bool: FioValueType<boolean> = { name: 'bool', parse: parseFioBool };
const str: FioValueType<string> = { name: 'str', parse: (v) => v };
const time: FioValueType<number> = { name: 'time', parse: parseFioTime };
/** An integer (fio's int and size types take the same suffixes), within [min, max]. */
const int = (min: number, max = Number.MAX_SAFE_INTEGER): FioValueType<number> => ({
  name: 'int',
  parse: (v) => {
    const n = parseFioSize(v);
    return n !== undefined && n >= min && n <= max ? n : undefined;
  },
});
const choice = <T extends string>(values: Record<string, T>): FioValueType<T> => ({
  name: Object.keys(values).join('|'),
  parse: (v) => (Object.hasOwn(values, v) ? values[v] : undefined),
  expected: Object.keys(values).join(', '),
});

const RW: Record<string, FioRw> = {
  read: 'read',
  write: 'write',
  randread: 'randread',
  randwrite: 'randwrite',
  randrw: 'randrw',
  rw: 'rw',
  readwrite: 'rw',
};
const ENGINES: Record<string, FioIoengine> = { libaio: 'libaio', io_uring: 'io_uring', psync: 'psync', sync: 'sync' };

/** Keeps T precise per entry while the table holds them all. */
const o = <T>(x: Omit<FioOption<T>, 'aliases'> & { aliases?: readonly string[] }): FioOption<unknown> =>
  ({ aliases: [], ...x }) as FioOption<unknown>;

export const FIO_OPTIONS: readonly FioOption<unknown>[] = [
  o({ name: 'name', type: str, help: 'job name (inside a job section; the section name otherwise)', set: (j, v) => (j.name = v) }),
  o({ name: 'description', type: str, help: 'free text', set: (j, v) => (j.description = v) }),
  o({ name: 'rw', aliases: ['readwrite'], type: choice(RW), default: 'read', help: 'I/O pattern', set: (j, v) => (j.rw = v) }),
  o({ name: 'bs', aliases: ['blocksize'], type: int(1), default: '4k', help: 'block size of each I/O', set: (j, v) => (j.bs = v) }),
  o({ name: 'iodepth', type: int(1, 65536), default: '1', help: 'I/Os in flight (async engines)', set: (j, v) => (j.iodepth = v) }),
  o({ name: 'size', type: int(1), help: 'region size (default: to the end of the device)', set: (j, v) => (j.size = v) }),
  o({ name: 'io_size', aliases: ['io_limit'], type: int(1), help: 'bytes of I/O to do (default: size)', set: (j, v) => (j.ioSize = v) }),
  o({ name: 'number_ios', type: int(0), help: 'stop after this many I/Os (0: no limit)', set: (j, v) => (j.numberIos = v || undefined) }),
  o({ name: 'numjobs', type: int(1, 4096), default: '1', help: 'clones of this job', set: (j, v) => (j.numjobs = v) }),
  o({ name: 'direct', type: bool, default: '0', help: 'O_DIRECT: bypass the guest page cache', set: (j, v) => (j.direct = v) }),
  o({ name: 'buffered', type: bool, default: '1', help: 'the inverse of direct', set: (j, v) => (j.direct = !v) }),
  o({ name: 'rwmixread', type: int(0, 100), default: '50', help: 'percentage of reads when mixed', set: (j, v) => (j.rwmixread = v) }),
  o({ name: 'rwmixwrite', type: int(0, 100), default: '50', help: 'percentage of writes when mixed', set: (j, v) => (j.rwmixread = 100 - v) }),
  o({ name: 'filename', type: str, help: 'file or device to do I/O on', set: (j, v) => (j.filename = v) }),
  o({ name: 'directory', type: str, help: 'directory for the files', set: (j, v) => (j.directory = v) }),
  o({ name: 'nrfiles', aliases: ['nr_files'], type: int(1, 65536), default: '1', help: 'files per job, named <name>.<jobnum>.<filenum>', set: (j, v) => (j.nrfiles = v) }),
  o({ name: 'filesize', type: int(1), help: 'size of each file (default: size / nrfiles)', set: (j, v) => (j.filesize = v) }),
  o({ name: 'fsync', type: int(0), default: '0', help: 'fsync the file after every N writes (0: never)', set: (j, v) => (j.fsync = v) }),
  o({ name: 'fdatasync', type: int(0), default: '0', help: 'fdatasync the file after every N writes (0: never)', set: (j, v) => (j.fdatasync = v) }),
  o({ name: 'end_fsync', type: bool, default: '0', help: 'fsync the files when the job is done', set: (j, v) => (j.endFsync = v) }),
  o({ name: 'create_on_open', type: bool, default: '0', help: 'create files when the job opens them, not before it starts', set: (j, v) => (j.createOnOpen = v) }),
  o({ name: 'invalidate', type: bool, default: '1', help: 'drop the files\' cached pages before the job starts', set: (j, v) => (j.invalidate = v) }),
  o({ name: 'ioengine', type: choice(ENGINES), default: 'psync', help: 'how I/O is issued', set: (j, v) => (j.ioengine = v) }),
  o({ name: 'runtime', aliases: ['timeout'], type: time, help: 'stop after this long (seconds unless a unit is given)', set: (j, v) => (j.runtimeNs = v) }),
  o({ name: 'time_based', type: bool, default: '0', help: 'run for runtime even when the region is done', set: (j, v) => (j.timeBased = v) }),
  o({ name: 'offset', type: int(0), default: '0', help: 'start of the region', set: (j, v) => (j.offset = v) }),
  o({ name: 'randrepeat', aliases: ['rand_repeatable'], type: bool, default: '1', help: 'repeatable random offsets', set: (j, v) => (j.randrepeat = v) }),
  o({ name: 'norandommap', type: bool, default: '0', help: 'random offsets may repeat within a pass', set: (j, v) => (j.norandommap = v) }),
  o({ name: 'stonewall', aliases: ['wait_for_previous'], type: bool, default: '0', help: 'wait for earlier jobs', set: (j, v) => (j.stonewall = v) }),
  o({ name: 'thread', type: bool, default: '0', help: 'threads instead of processes', set: (j, v) => (j.thread = v) }),
  o({ name: 'group_reporting', type: bool, default: '0', help: 'accepted and ignored (reporting)', set: () => undefined }),
];

export function findFioOption(name: string): FioOption<unknown> | undefined {
  return FIO_OPTIONS.find((x) => x.name === name || x.aliases.includes(name));
}

/** A job with every option at fio's default, built from the table. */
function defaults(): FioJob {
  const job = { name: '', index: 0 } as FioJob;
  for (const opt of FIO_OPTIONS) {
    if (opt.default === undefined) continue;
    const v = opt.type.parse(opt.default);
    if (v === undefined) throw new Error(`fio option table: bad default for ${opt.name}`);
    opt.set(job, v);
  }
  return job;
}

/** fio's defaults, before any option is read. */
export const FIO_DEFAULTS: Readonly<FioJob> = Object.freeze(defaults());

/** One line per option, like `fio --cmdhelp`. */
export function fioOptionsHelp(): string {
  return FIO_OPTIONS.map((x) => {
    const names = [x.name, ...x.aliases].join(', ');
    const def = x.default !== undefined ? ` (default: ${x.default})` : '';
    return `${names.padEnd(24)} ${x.type.name.padEnd(8)} ${x.help}${def}`;
  }).join('\n');
}
