/**
 * Workloads: fio job files (`parseFioJob`, `DEFAULT_JOB`) and the I/O stream a job issues
 * (`ioStream`).
 */
export { DEFAULT_JOB, type FioIoengine, type FioJob, type FioRw } from './fio/job.js';
export { parseFioJob } from './fio/parse.js';
export { fioErrorMessage, type FioError } from './fio/errors.js';
export { FIO_DEFAULTS, FIO_OPTIONS, fioOptionsHelp, findFioOption, type FioOption } from './fio/options.js';
export { parseFioBool, parseFioSize, parseFioTime } from './fio/values.js';
export { ioStream, jobExtent, type IoOp, type StreamOptions, type StreamRng } from './io-stream.js';
export { randomPermutation } from './permutation.js';
