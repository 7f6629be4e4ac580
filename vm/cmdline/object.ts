/**
 * `-object`: user-creatable QOM objects, in the dotted (`iothread,id=io0`) or JSON
 * (`{"qom-type":"iothread","id":"io0"}`) form. iopath models `iothread`; RAM backends are
 * accepted and ignored (the guest's RAM is not where its disk I/O is decided).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CmdlineError } from './errors.js';
import { parseJsonTree } from './keyval.js';
import { isHelpValue, isIdentifier, parseOpts, type OptPair } from './opts.js';

export const OBJECT_TYPES = {
  iothread: 'an event loop thread that devices can run their virtqueues in',
  'memory-backend-ram': 'accepted and ignored',
  'memory-backend-file': 'accepted and ignored',
  'memory-backend-memfd': 'accepted and ignored',
} as const;
export type ObjectType = keyof typeof OBJECT_TYPES;

/** QEMU's iothread properties that iopath does not model (yet). */
const IOTHREAD_UNMODELLED = new Set(['poll-max-ns', 'poll-grow', 'poll-shrink', 'aio-max-batch', 'thread-pool-min', 'thread-pool-max']);

export interface ParsedObject {
  readonly type: ObjectType;
  readonly id: string;
}

/** Split JSON or dotted text into pairs, with `qom-type` first. */
export function objectPairs(text: string, loc: string): E.Either<CmdlineError, OptPair[]> {
  if (!text.trimStart().startsWith('{')) return E.right(parseOpts(text, 'qom-type'));
  const tree = parseJsonTree(text, loc);
  if (E.isLeft(tree)) return tree;
  const pairs: OptPair[] = [];
  for (const [key, value] of Object.entries(tree.right)) {
    if (typeof value !== 'string') return E.left({ _tag: 'InvalidParameter', loc, param: key });
    pairs.push({ key, value });
  }
  return E.right(pairs);
}

export function parseObject(text: string, loc: string): E.Either<CmdlineError, ParsedObject> {
  const pairs = objectPairs(text, loc);
  if (E.isLeft(pairs)) return pairs;
  const type = pairs.right.find((p) => p.key === 'qom-type')?.value;
  if (type === undefined) return E.left({ _tag: 'MissingParameter', loc, param: 'qom-type' });
  if (isHelpValue(type)) {
    const names = Object.keys(OBJECT_TYPES).map((n) => `  ${n}`);
    return E.left({ _tag: 'HelpRequested', text: ['List of user creatable objects:', ...names].join('\n') });
  }
  if (!Object.hasOwn(OBJECT_TYPES, type)) return E.left({ _tag: 'InvalidObjectType', loc, type });
  let id: string | undefined;
  for (const { key, value } of pairs.right) {
    if (key === 'qom-type') continue;
    if (key === 'id') id = value;
    else if (type !== 'iothread') continue;
    else if (IOTHREAD_UNMODELLED.has(key)) return E.left({ _tag: 'NotModelled', loc, what: `iothread property '${key}'` });
    else return E.left({ _tag: 'PropertyNotFound', loc, type, prop: key });
  }
  if (id === undefined) return E.left({ _tag: 'MissingParameter', loc, param: 'id' });
  if (!isIdentifier(id)) return E.left({ _tag: 'BadIdentifier', loc, param: 'id', value: id });
  return E.right({ type: type as ObjectType, id });
}
