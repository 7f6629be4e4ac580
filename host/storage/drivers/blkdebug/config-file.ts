/**
 * blkdebug's configuration file, in the syntax of QEMU's qemu_config_parse
 * (util/qemu-config.c, used by `-readconfig` too):
 *
 *   # fail the first L2 table load with ENOSPC
 *   [inject-error]
 *   event = "l2_load"
 *   errno = "28"
 *   once = "on"
 *
 *   [set-state]
 *   event = "l2_load"
 *   state = "1"
 *   new_state = "2"
 *
 * A section is `[group]` or `[group "id"]`; every value is double-quoted. Blank lines and
 * lines starting with '#' are skipped. This parser also takes `key="value"` without the
 * spaces QEMU's sscanf pattern needs. What it returns is still text: the values are typed
 * when rules are made from them (rules.ts), where an error names the line of the key.
 *
 * Errors are QEMU's, prefixed with `file:line:` as error_report prints them: "There is
 * no option group 'x'", "no group defined", "Invalid parameter 'x'", "parse error".
 */
import * as E from 'fp-ts/lib/Either.js';

/** A `[group]` section: its values by key, and the line each came from. */
export interface ConfigSection {
  readonly group: string;
  readonly line: number;
  readonly values: Record<string, string>;
  readonly lines: Record<string, number>;
}

/** The keys each group accepts (QEMU's inject_error_opts and set_state_opts). */
export const CONFIG_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'inject-error': ['event', 'state', 'iotype', 'errno', 'sector', 'once', 'immediately'],
  'set-state': ['event', 'state', 'new_state'],
};

const GROUP_RE = /^\[\s*([^\s\]"]+)(?:\s+"([^"]*)")?\s*\]\s*$/;
const ARG_RE = /^\s*([^\s="]+)\s*=\s*"([^"]*)"\s*$/;

/** Parse the text of a config file named `filename` (for messages) into its sections. */
export function parseBlkdebugConfig(filename: string, text: string): E.Either<string, ConfigSection[]> {
  const sections: ConfigSection[] = [];
  let current: ConfigSection | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lno = i + 1;
    const line = lines[i].replace(/\r$/, '');
    const at = (msg: string) => E.left(`${filename}:${lno}: ${msg}`);
    if (line.trim() === '' || line.startsWith('#')) continue;
    const g = GROUP_RE.exec(line);
    if (g) {
      if (!Object.hasOwn(CONFIG_GROUPS, g[1])) return at(`There is no option group '${g[1]}'`);
      current = { group: g[1], line: lno, values: {}, lines: {} };
      sections.push(current);
      continue;
    }
    const a = ARG_RE.exec(line);
    if (!a) return at('parse error');
    if (!current) return at('no group defined');
    const key = a[1];
    if (!CONFIG_GROUPS[current.group].includes(key)) return at(`Invalid parameter '${key}'`);
    current.values[key] = a[2];
    current.lines[key] = lno;
  }
  return E.right(sections);
}
