#!/usr/bin/env node
/**
 * The `iopath` command.
 *
 *   iopath compare                      the default comparison (what `npm start` prints)
 *   iopath run [--job F] [--seed N] [--json] [--costs F] [--event 'T CMD']... [-- QEMU args]
 *   iopath trace --op 'write /mnt/f 4096@0; fsync /mnt/f' [--seed N] [-- QEMU args]
 *   iopath costs                        the cost model: every name, default and source
 *   iopath img <command> ...            qemu-img's create, info, check, map, convert, compare,
 *                                       snapshot, commit, rebase, resize over iopath's block layer
 */
import { Command, Option } from 'commander';
import { runCompare } from './compare.js';
import { runCosts } from './costs.js';
import { runImg } from './img/index.js';
import { runRun } from './run.js';
import { runTrace } from './trace.js';

const program = new Command();
program.name('iopath').description('Simulate the storage I/O path of a KVM/QEMU virtual machine, end to end.').showHelpAfterError();
// `img` parses its own arguments, as qemu-img does (options may follow operands, e.g. `info x.img --output=json`).
program.enablePositionalOptions();

const seedOpt = () => new Option('--seed <n>', 'seed of the run (same seed, same trace)').default('1');
const costsOpt = () => new Option('--costs <file>', 'JSON file of cost overrides { "name": ns }');

program
  .command('run')
  .description('run a fio job on a VM given by QEMU arguments (after --); the built-in default VM and job when absent')
  .addOption(new Option('--job <file>', 'fio job file (default: the built-in randwrite job)'))
  .addOption(seedOpt())
  .addOption(costsOpt())
  .option('--json', 'print one JSON object')
  .option('--timeline <n>', 'print the event timeline of the first n I/Os of the measured window')
  .option('--chrome-trace <file>', 'write the whole trace as Chrome trace-event JSON (open in Perfetto)')
  .option('--mount <dir>', 'jobs on files: mount the file system here first (made if missing)', '/mnt')
  .option('--device <dev>', 'jobs on files: the block device holding the file system', '/dev/vda')
  .option('--no-mkfs', 'jobs on files: mount the file system already on the device instead of running mkfs.ext3 first')
  .option('--event <event...>', "QMP command at a time into the run: '2ms device_add scsi-hd,bus=scsi0.0,drive=d1,id=hot1', '5ms device_del hot1', '3ms stop' or '8ms cont' (repeatable)")
  .argument('[qemu...]', 'QEMU command-line arguments')
  .action((qemu: string[], opts) => process.exit(runRun(qemu, opts)));

program
  .command('trace')
  .description("run file operations in order on a booted VM and print their path layer by layer, e.g. --op 'write /mnt/f 4096@0; fsync /mnt/f'")
  .addOption(new Option('--op <ops>', 'the operations, separated by ;'))
  .addOption(seedOpt())
  .addOption(costsOpt())
  .option('--work', 'also print when each execution context was busy')
  .option('--mount <dir>', 'mount the file system here first (made if missing)', '/mnt')
  .option('--device <dev>', 'the block device holding the file system', '/dev/vda')
  .option('--no-mkfs', 'mount the file system already on the device instead of running mkfs.ext3 first')
  .argument('[qemu...]', 'QEMU command-line arguments')
  .action((qemu: string[], opts) => process.exit(runTrace(qemu, opts)));

program
  .command('compare', { isDefault: true })
  .description('the default comparison: ioeventfd, EVENT_IDX, MSI-X vs INTx, iothread, at iodepth 1 and 32')
  .addOption(seedOpt())
  .addOption(costsOpt())
  .option('--ios <n>', 'I/Os per iodepth-1 run (iodepth-32 runs do 4x)', '4000')
  .option('--json', 'print JSON')
  .action((opts) => process.exit(runCompare(opts)));

program
  .command('costs')
  .description('list the cost model: each cost, its default, and where the default comes from')
  .option('--json', 'print JSON')
  .action((opts) => process.exit(runCosts(opts)));

program
  .command('img')
  .description("qemu-img's commands (create, info, check, map, convert, compare, snapshot, commit, rebase, resize) with its options and output; `iopath img --help`")
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .passThroughOptions()
  .argument('[args...]', 'the qemu-img command line')
  .action((args: string[]) => process.exit(runImg(args)));

program.parse();
