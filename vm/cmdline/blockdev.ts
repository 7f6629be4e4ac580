/**
 * `-blockdev`: one node tree of QEMU's block graph, in the dotted form
 * (`driver=raw,node-name=d0,file.driver=file,file.filename=x.img`) or the JSON form.
 *
 * The DriveSpec keeps the tree exactly (`blockdev`) and derives the summary fields every
 * consumer wants, walking the chain of `file` children from the root to the protocol leaf:
 * - `format`: the root's driver when the root has a `file` child (raw, qcow2…);
 * - `file`: the leaf's `filename`;
 * - `cache`: from `cache.direct` / `cache.no-flush`, inherited down the chain as QEMU's
 *   children inherit them (writeback is the device's, on);
 * - `aio`: the leaf's (a file-posix option); `discard` and `readOnly`: the root's;
 * - `options`: the leaf's other scalars, and `driver` when the leaf is not `file`.
 * Devices name the root node; naming a child node is not supported.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockdevDict, BlockdevOptions, DriveSpec } from '../spec.js';
import { cacheModeOf, parseAio, parseDiscard } from './block-options.js';
import type { CmdlineError } from './errors.js';
import { formatKeyval, parseJsonTree, parseKeyval } from './keyval.js';
import { isIdentifier, parseBool } from './opts.js';

/** QEMU limits node names to 31 characters (block.c, `bdrv_assign_node_name`). */
const NODE_NAME_MAX = 31;

/** Keys of a node that the summary fields already say, kept out of `options`. */
const SUMMARISED = new Set(['driver', 'node-name', 'filename', 'file', 'aio', 'read-only', 'auto-read-only', 'discard']);

/** Parse the argument of `-blockdev` into a checked tree. */
export function parseBlockdev(arg: string, loc: string): E.Either<CmdlineError, BlockdevOptions> {
  const tree = arg.trimStart().startsWith('{') ? parseJsonTree(arg, loc) : parseKeyval(arg, loc);
  if (E.isLeft(tree)) return tree;
  const root = tree.right;
  const checked = checkNode(root, '', loc);
  if (E.isLeft(checked)) return checked;
  if (typeof root['node-name'] !== 'string') return E.left({ _tag: 'RootNodeNameMissing', loc });
  return E.right(root as BlockdevOptions);
}

/** Every node (the root and each dictionary `file` or `backing`) needs a driver and a well-formed node-name. */
function checkNode(node: BlockdevDict, path: string, loc: string): E.Either<CmdlineError, void> {
  if (typeof node.driver !== 'string') return E.left({ _tag: 'MissingParameter', loc, param: `${path}driver` });
  const name = node['node-name'];
  if (name !== undefined) {
    if (typeof name !== 'string' || !isIdentifier(name) || name.length > NODE_NAME_MAX) {
      return E.left({ _tag: 'BadIdentifier', loc, param: 'node-name', value: typeof name === 'string' ? name : '' });
    }
  }
  for (const child of ['file', 'backing'] as const) {
    const c = node[child];
    if (typeof c === 'object') {
      const r = checkNode(c, `${path}${child}.`, loc);
      if (E.isLeft(r)) return r;
    }
  }
  return E.right(undefined);
}

/** Every node-name in the tree, root first. */
export function nodeNames(node: BlockdevDict): string[] {
  const out: string[] = [];
  const name = node['node-name'];
  if (typeof name === 'string') out.push(name);
  for (const child of ['file', 'backing']) {
    const c = node[child];
    if (typeof c === 'object') out.push(...nodeNames(c));
  }
  return out;
}

/** The DriveSpec a checked tree describes. */
export function driveFromBlockdev(root: BlockdevOptions, loc: string): E.Either<CmdlineError, DriveSpec> {
  let direct = false;
  let noFlush = false;
  let leaf: BlockdevDict = root;
  for (let node: BlockdevDict | undefined = root, path = ''; node; path += 'file.') {
    const cache = node.cache;
    if (typeof cache === 'object') {
      const d = boolOpt(cache.direct, `${path}cache.direct`, loc);
      if (E.isLeft(d)) return d;
      const n = boolOpt(cache['no-flush'], `${path}cache.no-flush`, loc);
      if (E.isLeft(n)) return n;
      direct = d.right ?? direct;
      noFlush = n.right ?? noFlush;
    }
    leaf = node;
    node = typeof node.file === 'object' ? node.file : undefined;
  }
  const cache = cacheModeOf({ writeback: true, direct, noFlush }, loc);
  if (E.isLeft(cache)) return cache;
  const aio = parseAio(str(leaf.aio), direct, loc);
  if (E.isLeft(aio)) return aio;
  const discard = parseDiscard(str(root.discard), loc);
  if (E.isLeft(discard)) return discard;
  const ro = boolOpt(root['read-only'], 'read-only', loc);
  if (E.isLeft(ro)) return ro;

  const options: Record<string, string> = {};
  const leafDriver = str(leaf.driver);
  if (leaf.file === undefined && leafDriver !== undefined && leafDriver !== 'file') options.driver = leafDriver;
  for (const [k, v] of Object.entries(leaf)) {
    if (typeof v === 'string' && !SUMMARISED.has(k)) options[k] = v;
  }
  const format = root.file !== undefined ? root.driver : undefined;
  const file = leaf === root && root.file !== undefined ? undefined : str(leaf.filename);
  return E.right({
    id: root['node-name'] as string,
    source: 'blockdev',
    ...(file !== undefined ? { file } : {}),
    ...(format !== undefined ? { format } : {}),
    cache: cache.right,
    aio: aio.right,
    discard: discard.right,
    readOnly: ro.right ?? false,
    blockdev: root,
    options,
  });
}

/** The canonical `-blockdev` argument: the dotted form of the tree. */
export function formatBlockdev(tree: BlockdevOptions): string {
  return formatKeyval(tree);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function boolOpt(v: unknown, param: string, loc: string): E.Either<CmdlineError, boolean | undefined> {
  if (v === undefined) return E.right(undefined);
  const b = typeof v === 'string' ? parseBool(v) : undefined;
  return b === undefined ? E.left({ _tag: 'ParameterExpects', loc, param, expects: "'on' or 'off'" }) : E.right(b);
}
