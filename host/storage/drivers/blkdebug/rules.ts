/**
 * blkdebug's rules (QEMU's BlkdebugRule, block/blkdebug.c): what to do when a named
 * event happens.
 *
 * - `inject-error`: arm an error. The armed rule fails the next request of a matching
 *   I/O type (`iotype`, default every type but block-status) that covers byte
 *   `sector` × 512 (any request when `sector` is absent), with `errno` (default EIO).
 *   With `once=on` it fires one time and is gone; otherwise it fails every matching
 *   request until another event arms a new set of errors. `immediately=on` fails the
 *   request at once instead of completing it through the event loop.
 * - `set-state`: move to `new_state` (default 0).
 *
 * Both apply only while the node is in `state` (0, the default, means any state). The
 * node starts in state 1.
 *
 * Rules come from the config file (config-file.ts) and from the blockdev options
 * `inject-error.N.key` / `set-state.N.key` (or JSON lists). A value that is not what the
 * key takes is refused with a message naming where it was given (file:line or
 * inject-error.N) and the key.
 */
import * as E from 'fp-ts/lib/Either.js';
import { BLKDEBUG_EVENTS, type BlkdebugEvent } from '../../image-api.js';
import { ERRNO_NUMBER, type Errno } from '../../errors.js';
import type { OptionListItem } from '../../options.js';
import { parseBool } from '../../options.js';
import type { ConfigSection } from './config-file.js';

/** BlkdebugIOType (qapi/block-core.json): the kind of request a rule fails. */
export const BLKDEBUG_IO_TYPES = ['read', 'write', 'write-zeroes', 'discard', 'flush', 'block-status'] as const;
export type BlkdebugIoType = (typeof BLKDEBUG_IO_TYPES)[number];

/** Without `iotype`, a rule fails every kind of request but block-status. */
const DEFAULT_IO_TYPES: ReadonlySet<BlkdebugIoType> = new Set(['read', 'write', 'write-zeroes', 'discard', 'flush']);

/** Linux errno numbers of the errors a request can complete with (0: the rule matches but fails nothing). */
export const ERRNO_NUMBERS: Readonly<Record<number, Errno>> = Object.fromEntries(Object.entries(ERRNO_NUMBER).map(([name, n]) => [n, name as Errno]));
const ERRNO_EXPECTS = `0 or one of ${Object.entries(ERRNO_NUMBERS).map(([n, name]) => `${n} (${name})`).join(', ')}`;

const BDRV_SECTOR_SIZE = 512;
/** QEMU keeps states in an int. */
const STATE_MAX = 0x7fffffff;

export interface InjectErrorRule {
  readonly action: 'inject-error';
  readonly event: BlkdebugEvent;
  readonly state: number;
  readonly iotypes: ReadonlySet<BlkdebugIoType>;
  /** null for errno=0. */
  readonly error: Errno | null;
  readonly once: boolean;
  readonly immediately: boolean;
  /** Byte offset the request must cover, or -1 for any request. */
  readonly offset: number;
}

export interface SetStateRule {
  readonly action: 'set-state';
  readonly event: BlkdebugEvent;
  readonly state: number;
  readonly newState: number;
}

export type BlkdebugRule = InjectErrorRule | SetStateRule;

/** One rule's options before typing, and how to name where each was given. */
interface RuleSource {
  readonly values: Readonly<Record<string, unknown>>;
  /** "file:line" of a key (or of the section), or "inject-error.N". */
  where(key?: string): string;
}

const expects = (src: RuleSource, key: string, what: string): E.Either<string, never> =>
  E.left(`${src.where(key)}: Parameter '${key}' expects ${what}, got ${JSON.stringify(src.values[key])}`);

function num(src: RuleSource, key: string, dflt: number, max: number): E.Either<string, number> {
  const v = src.values[key];
  if (v === undefined) return E.right(dflt);
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max ? E.right(n) : expects(src, key, `a number from 0 to ${max}`);
}

function bool(src: RuleSource, key: string): E.Either<string, boolean> {
  const v = src.values[key];
  if (v === undefined) return E.right(false);
  const r = parseBool(key, v);
  return E.isRight(r) ? r : expects(src, key, "'on' or 'off'");
}

function eventOf(src: RuleSource): E.Either<string, BlkdebugEvent> {
  const v = src.values.event;
  if (v === undefined) return E.left(`${src.where()}: Missing event name for rule`);
  const ev = BLKDEBUG_EVENTS.find((e) => e === v);
  return ev ? E.right(ev) : expects(src, 'event', 'a blkdebug event (l2_load, write_aio, flush_to_disk, ...)');
}

function errnoOf(src: RuleSource): E.Either<string, Errno | null> {
  const v = src.values.errno;
  if (v === undefined) return E.right('EIO');
  const byName = Object.values(ERRNO_NUMBERS).find((e) => e === v);
  if (byName) return E.right(byName);
  const n = num(src, 'errno', 0, 4095);
  if (E.isLeft(n) || (n.right !== 0 && !(n.right in ERRNO_NUMBERS))) return expects(src, 'errno', ERRNO_EXPECTS);
  return E.right(n.right === 0 ? null : ERRNO_NUMBERS[n.right]);
}

function iotypesOf(src: RuleSource): E.Either<string, ReadonlySet<BlkdebugIoType>> {
  const v = src.values.iotype;
  if (v === undefined) return E.right(DEFAULT_IO_TYPES);
  const t = BLKDEBUG_IO_TYPES.find((x) => x === v);
  return t ? E.right(new Set([t])) : expects(src, 'iotype', `one of ${BLKDEBUG_IO_TYPES.join(', ')}`);
}

function unknownKey(src: RuleSource, allowed: readonly string[]): string | undefined {
  const k = Object.keys(src.values).find((key) => !allowed.includes(key));
  return k === undefined ? undefined : `${src.where(k)}: Invalid parameter '${k}'`;
}

const INJECT_KEYS = ['event', 'state', 'iotype', 'errno', 'sector', 'once', 'immediately'];
const SET_STATE_KEYS = ['event', 'state', 'new_state'];

function injectRule(src: RuleSource): E.Either<string, InjectErrorRule> {
  const bad = unknownKey(src, INJECT_KEYS);
  if (bad) return E.left(bad);
  const sectorMax = Math.floor(Number.MAX_SAFE_INTEGER / BDRV_SECTOR_SIZE);
  return E.flatMap(eventOf(src), (event) =>
    E.flatMap(num(src, 'state', 0, STATE_MAX), (state) =>
      E.flatMap(iotypesOf(src), (iotypes) =>
        E.flatMap(errnoOf(src), (error) =>
          E.flatMap(bool(src, 'once'), (once) =>
            E.flatMap(bool(src, 'immediately'), (immediately) =>
              E.flatMap(num(src, 'sector', -1, sectorMax), (sector) =>
                E.right<string, InjectErrorRule>({
                  action: 'inject-error',
                  event,
                  state,
                  iotypes,
                  error,
                  once,
                  immediately,
                  offset: sector < 0 ? -1 : sector * BDRV_SECTOR_SIZE,
                }),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function setStateRule(src: RuleSource): E.Either<string, SetStateRule> {
  const bad = unknownKey(src, SET_STATE_KEYS);
  if (bad) return E.left(bad);
  return E.flatMap(eventOf(src), (event) =>
    E.flatMap(num(src, 'state', 0, STATE_MAX), (state) =>
      E.flatMap(num(src, 'new_state', 0, STATE_MAX), (newState) => E.right<string, SetStateRule>({ action: 'set-state', event, state, newState })),
    ),
  );
}

/**
 * Every rule, in QEMU's order: the config file's sections, then the blockdev lists,
 * inject-error rules before set-state rules (read_config adds them in that order).
 */
export function buildRules(
  filename: string | undefined,
  sections: readonly ConfigSection[],
  injectErrors: readonly OptionListItem[],
  setStates: readonly OptionListItem[],
): E.Either<string, BlkdebugRule[]> {
  const fromFile = (group: string): RuleSource[] =>
    sections
      .filter((s) => s.group === group)
      .map((s) => ({ values: s.values, where: (key?: string) => `${filename}:${key === undefined ? s.line : (s.lines[key] ?? s.line)}` }));
  const fromList = (name: string, items: readonly OptionListItem[]): RuleSource[] => items.map((values, i) => ({ values, where: () => `${name}.${i}` }));
  const rules: BlkdebugRule[] = [];
  for (const src of [...fromFile('inject-error'), ...fromList('inject-error', injectErrors)]) {
    const r = injectRule(src);
    if (E.isLeft(r)) return r;
    rules.push(r.right);
  }
  for (const src of [...fromFile('set-state'), ...fromList('set-state', setStates)]) {
    const r = setStateRule(src);
    if (E.isLeft(r)) return r;
    rules.push(r.right);
  }
  return E.right(rules);
}
