/** `iopath costs`: the cost model, each entry with its default and its source. */
import { DEFAULT_COSTS } from '../sim/costs.js';
import { table } from '../report/format.js';

export function runCosts(opts: { json?: boolean }): number {
  if (opts.json) {
    process.stdout.write(JSON.stringify(DEFAULT_COSTS, null, 2) + '\n');
    return 0;
  }
  const rows = Object.entries(DEFAULT_COSTS).map(([name, c]) => [name, `${c.ns}${'perByte' in c && c.perByte ? ' ns/B' : ' ns'}`, c.help, c.source]);
  process.stdout.write(table(['cost', 'default', 'what', 'source'], rows) + '\n');
  return 0;
}
