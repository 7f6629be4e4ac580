/**
 * One front end's measured run for bench/scsi-throughput.ts, in a process of its own:
 * `node --expose-gc scsi-throughput-child.js blk|scsi <ios>` prints its FrontendRate as
 * one line of JSON.
 */
import { measureFrontend, type Frontend } from './scsi-throughput.js';

const [fe, ios] = process.argv.slice(2);
const n = Number(ios);
if ((fe !== 'blk' && fe !== 'scsi') || !Number.isSafeInteger(n) || n < 1) {
  process.stderr.write('usage: scsi-throughput-child blk|scsi <ios>\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify(measureFrontend(fe as Frontend, n)) + '\n');
