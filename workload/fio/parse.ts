/**
 * `parseFioJob`: fio's job-file syntax (an ini file; fio HOWTO "Job file format"):
 * - `[global]` sections set defaults for the jobs that follow them (a later `[global]`
 *   changes only later jobs, as fio copies the global options when a job section starts);
 * - `[name]` sections are jobs; `name=` inside one renames it;
 * - `key=value` lines, or a bare `key` for a boolean; `;` and `#` start comment lines;
 * - `numjobs=N` makes N jobs with the same name, `index` 0..N-1.
 * Unknown options and bad values are errors that name the job, the line and the option.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { FioError } from './errors.js';
import type { FioJob } from './job.js';
import { FIO_DEFAULTS, findFioOption } from './options.js';

export function parseFioJob(text: string): E.Either<FioError, FioJob[]> {
  const global: FioJob = { ...FIO_DEFAULTS };
  const jobs: FioJob[] = [];
  let current: { name: string; job: FioJob; isGlobal: boolean } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const name = /^\[([^\]]+)\]$/.exec(line)?.[1].trim();
      if (!name) return E.left({ _tag: 'BadSection', line: lineNo, text: line });
      if (current && !current.isGlobal) jobs.push(current.job);
      current =
        name === 'global'
          ? { name, job: global, isGlobal: true }
          : { name, job: { ...global, name }, isGlobal: false };
      continue;
    }
    if (!current) return E.left({ _tag: 'OutsideSection', line: lineNo, text: line });
    const r = applyOption(current.job, line, current.name, lineNo);
    if (E.isLeft(r)) return r;
  }
  if (current && !current.isGlobal) jobs.push(current.job);
  if (jobs.length === 0) return E.left({ _tag: 'NoJobs' });
  return E.right(jobs.flatMap((j) => Array.from({ length: j.numjobs }, (_, index) => ({ ...j, index }))));
}

function applyOption(job: FioJob, line: string, section: string, lineNo: number): E.Either<FioError, void> {
  const eq = line.indexOf('=');
  const key = (eq < 0 ? line : line.slice(0, eq)).trim();
  const raw = eq < 0 ? undefined : line.slice(eq + 1).trim();
  const opt = findFioOption(key);
  if (!opt) return E.left({ _tag: 'UnknownOption', job: section, line: lineNo, option: key });
  if (raw === undefined && opt.type.name !== 'bool') return E.left({ _tag: 'MissingValue', job: section, line: lineNo, option: key });
  const value = raw === undefined ? true : opt.type.parse(raw);
  if (value === undefined) {
    return E.left({
      _tag: 'InvalidValue',
      job: section,
      line: lineNo,
      option: key,
      value: raw ?? '',
      ...(opt.type.expected ? { expected: opt.type.expected } : {}),
    });
  }
  opt.set(job, value);
  return E.right(undefined);
}
