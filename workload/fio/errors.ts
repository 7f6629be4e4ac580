/**
 * What can be wrong with a fio job file: one tagged union, its messages beside it. Each
 * names the job (section) and the line, as `fio: job 'x', line 7: …`.
 */

export type FioError =
  | { _tag: 'UnknownOption'; job: string; line: number; option: string }
  | { _tag: 'InvalidValue'; job: string; line: number; option: string; value: string; expected?: string }
  | { _tag: 'MissingValue'; job: string; line: number; option: string }
  | { _tag: 'OutsideSection'; line: number; text: string }
  | { _tag: 'BadSection'; line: number; text: string }
  | { _tag: 'NoJobs' };

export function fioErrorMessage(e: FioError): string {
  switch (e._tag) {
    case 'UnknownOption':
      return `fio: job '${e.job}', line ${e.line}: unknown option '${e.option}'`;
    case 'InvalidValue':
      return `fio: job '${e.job}', line ${e.line}: ${e.option}: invalid value '${e.value}'${e.expected ? ` (expected ${e.expected})` : ''}`;
    case 'MissingValue':
      return `fio: job '${e.job}', line ${e.line}: option '${e.option}' requires a value`;
    case 'OutsideSection':
      return `fio: line ${e.line}: option '${e.text}' outside of [] job section`;
    case 'BadSection':
      return `fio: line ${e.line}: invalid section header '${e.text}'`;
    case 'NoJobs':
      return 'fio: no jobs defined in the job file';
  }
}
