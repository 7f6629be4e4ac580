/**
 * Workloads: fio job files (`parseFioJob`, `DEFAULT_JOB`), the I/O stream a job issues
 * (`ioStream`), fio jobs on files through the guest's system calls (`runFileJobs`), the
 * `iopath trace` op language (`parseOps`, `runOps`), and guest processes written as
 * generators (`startProc`).
 */
export { DEFAULT_JOB, type FioIoengine, type FioJob, type FioRw } from './fio/job.js';
export { parseFioJob } from './fio/parse.js';
export { fioErrorMessage, type FioError } from './fio/errors.js';
export { FIO_DEFAULTS, FIO_OPTIONS, fioOptionsHelp, findFioOption, type FioOption } from './fio/options.js';
export { parseFioBool, parseFioSize, parseFioTime } from './fio/values.js';
export { ioStream, jobExtent, type IoOp, type StreamOptions, type StreamRng } from './io-stream.js';
export { randomPermutation } from './permutation.js';
export { fileIoStream, isFileJob, jobFiles, resolvePath, type FileIo, type JobFile } from './file-plan.js';
export { fileJob, fileJobDepth, type FileJobEnv, type FileJobResult, type FileJobSpec } from './file-job.js';
export { runFileJobs, type FileRunEnv, type FileRunOptions, type FileRunResult, type MountSpec } from './run-file-jobs.js';
export { call, reap, sleep, startProc, submit, type Proc } from './proc.js';
export { formatOp, opErrorMessage, parseOps, type Op, type OpError } from './ops/parse.js';
export { patternByte, runOps, type OpResult, type OpsEnv } from './ops/run.js';
