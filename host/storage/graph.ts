/**
 * `BlockGraph`: the nodes and backends of one VM (QEMU's graph_bdrv_states and
 * block_backends), built from `-blockdev` specs.
 *
 * A spec is QEMU's -blockdev option tree, nested or with dotted keys:
 *
 *   { driver: 'raw', 'node-name': 'disk0', file: { driver: 'file', filename: '/tmp/x.img' } }
 *   { driver: 'raw', 'file.driver': 'file', 'file.filename': '/tmp/x.img', 'cache.direct': 'on' }
 *
 * Options every node takes (the rest are the driver's own, see each driver's `options`):
 * `driver`, `node-name` (auto '#blockN' if absent), `read-only`, `cache.direct`,
 * `cache.no-flush`, `discard` ('ignore' | 'unmap'). A child is an option holding a nested
 * spec, or the node name of a node already in the graph; it inherits its parent's
 * read-only, cache and discard flags unless it sets its own. A failed open leaves the
 * graph as it was.
 */
import * as E from 'fp-ts/lib/Either.js';
import { BlockBackend, type BackendOptions } from './block-backend.js';
import type { BlockEnv, NodeFlags, OpenContext } from './driver.js';
import './drivers/index.js';
import type { BlockError } from './errors.js';
import { BlockDriverState, type BdrvChild } from './node.js';
import { crumple, isPlainObject, parseBool, parseOptions } from './options.js';
import { findBlockDriver } from './registry.js';

/** A -blockdev option tree. Values may be typed (JSON) or strings (command line). */
export interface BlockdevSpec {
  readonly driver?: string;
  readonly 'node-name'?: string;
  readonly [option: string]: unknown;
}

/** Options the graph handles for every node. */
const COMMON = new Set(['driver', 'node-name', 'read-only', 'cache', 'discard']);
const CACHE_KEYS = new Set(['direct', 'no-flush']);
const NODE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export const DEFAULT_NODE_FLAGS: NodeFlags = { readOnly: false, direct: false, noFlush: false, unmap: false };

/** The flags a node opens with: its own options over what it inherits. */
function nodeFlags(spec: Readonly<Record<string, unknown>>, inherited: NodeFlags): E.Either<BlockError, NodeFlags> {
  let { readOnly, direct, noFlush, unmap } = inherited;
  if (spec['read-only'] !== undefined) {
    const r = parseBool('read-only', spec['read-only']);
    if (E.isLeft(r)) return r;
    readOnly = r.right;
  }
  const cache = spec.cache;
  if (cache !== undefined) {
    if (!isPlainObject(cache)) return E.left({ _tag: 'BadParameter', parameter: 'cache', value: cache, expected: 'an object { direct, no-flush }' });
    for (const k of Object.keys(cache)) if (!CACHE_KEYS.has(k)) return E.left({ _tag: 'BadParameter', parameter: `cache.${k}`, value: cache[k], expected: 'no such option (cache.direct, cache.no-flush)' });
    if (cache.direct !== undefined) {
      const r = parseBool('cache.direct', cache.direct);
      if (E.isLeft(r)) return r;
      direct = r.right;
    }
    if (cache['no-flush'] !== undefined) {
      const r = parseBool('cache.no-flush', cache['no-flush']);
      if (E.isLeft(r)) return r;
      noFlush = r.right;
    }
  }
  const d = spec.discard;
  if (d !== undefined) {
    if (d !== 'ignore' && d !== 'off' && d !== 'unmap' && d !== 'on') return E.left({ _tag: 'BadParameter', parameter: 'discard', value: d, expected: "'ignore' or 'unmap'" });
    unmap = d === 'unmap' || d === 'on';
  }
  return E.right({ readOnly, direct, noFlush, unmap });
}

export class BlockGraph {
  private readonly nodes = new Map<string, BlockDriverState>();
  /** Nodes in creation order (children before parents). */
  private readonly order: BlockDriverState[] = [];
  private readonly backendList: BlockBackend[] = [];
  private autoName = 0;

  constructor(readonly env: BlockEnv) {}

  /** A node by name. */
  node(name: string): BlockDriverState | undefined {
    return this.nodes.get(name);
  }

  get backends(): readonly BlockBackend[] {
    return this.backendList;
  }

  /** -blockdev: open a node (and the children its spec describes). */
  blockdevAdd(spec: BlockdevSpec): E.Either<BlockError, BlockDriverState> {
    const mark = this.order.length;
    const r = this.open(crumple(spec), DEFAULT_NODE_FLAGS);
    if (E.isLeft(r)) this.rollback(mark);
    return r;
  }

  /** A BlockBackend over a node (what `-device ...,drive=<node-name>` attaches). */
  newBackend(node: string | BlockDriverState, opts: BackendOptions = {}): E.Either<BlockError, BlockBackend> {
    const bs = typeof node === 'string' ? this.nodes.get(node) : node;
    if (!bs) return E.left({ _tag: 'NodeNotFound', name: String(node) });
    const blk = new BlockBackend(bs, this.env, opts);
    this.backendList.push(blk);
    return E.right(blk);
  }

  /** Remove a node nobody uses any more (and close it). Used to undo a half-built drive. */
  remove(bs: BlockDriverState): void {
    const i = this.order.indexOf(bs);
    if (i < 0) return;
    this.order.splice(i, 1);
    this.nodes.delete(bs.nodeName);
    bs.close();
  }

  /** The host loses power: every node drops its volatile data; no request in flight completes. */
  powerCut(): void {
    for (const bs of this.order) bs.powerCut();
    for (const blk of this.backendList) blk.dropInFlight();
  }

  /** Close every node, parents first (a file node writes its cache back to the host file). */
  close(): void {
    for (let i = this.order.length - 1; i >= 0; i--) this.order[i].close();
    this.order.length = 0;
    this.nodes.clear();
    this.backendList.length = 0;
  }

  private open(spec: Record<string, unknown>, inherited: NodeFlags): E.Either<BlockError, BlockDriverState> {
    const driver = spec.driver;
    if (driver === undefined) return E.left({ _tag: 'MissingParameter', parameter: 'driver' });
    if (typeof driver !== 'string') return E.left({ _tag: 'BadParameter', parameter: 'driver', value: driver, expected: 'a driver name' });
    const drv = findBlockDriver(driver);
    if (!drv) return E.left({ _tag: 'UnknownDriver', driver });
    const named = spec['node-name'];
    if (named !== undefined && (typeof named !== 'string' || !NODE_NAME_RE.test(named))) return E.left({ _tag: 'InvalidNodeName', name: String(named) });
    if (named !== undefined && this.nodes.has(named)) return E.left({ _tag: 'DuplicateNodeName', name: named });
    const flags = nodeFlags(spec, inherited);
    if (E.isLeft(flags)) return flags;
    const opts = parseOptions(drv.options, spec);
    if (E.isLeft(opts)) return opts;

    const nodeName = named ?? this.nextAutoName();
    const children: BdrvChild[] = [];
    const consumed = new Set([...COMMON, ...Object.keys(drv.options)]);
    const openOptionalChild = (name: string): E.Either<BlockError, BlockDriverState | undefined> => {
      consumed.add(name);
      const v = spec[name];
      if (v === undefined) return E.right(undefined);
      const r = typeof v === 'string' ? this.lookup(v) : isPlainObject(v) ? this.open(v, flags.right) : E.left<BlockError>({ _tag: 'BadParameter', parameter: name, value: v, expected: 'a node name or a block device spec' });
      if (E.isRight(r)) children.push({ name, bs: r.right });
      return r;
    };
    const ctx: OpenContext = {
      nodeName,
      flags: flags.right,
      env: this.env,
      openOptionalChild,
      openChild: (name) => E.flatMap(openOptionalChild(name), (bs) => (bs ? E.right(bs) : E.left({ _tag: 'ChildMissing', driver, child: name }))),
    };
    const s = drv.open(opts.right, ctx);
    if (E.isLeft(s)) return s;
    const bs = new BlockDriverState(nodeName, drv, s.right, flags.right, children, this.env);
    const unknown = Object.keys(spec).find((k) => !consumed.has(k) && spec[k] !== undefined);
    if (unknown !== undefined) {
      bs.close();
      return E.left({ _tag: 'UnsupportedOption', driver, protocol: !!drv.protocol, option: unknown });
    }
    this.nodes.set(nodeName, bs);
    this.order.push(bs);
    return E.right(bs);
  }

  private lookup(name: string): E.Either<BlockError, BlockDriverState> {
    const bs = this.nodes.get(name);
    return bs ? E.right(bs) : E.left({ _tag: 'NodeNotFound', name });
  }

  private nextAutoName(): string {
    let name: string;
    do name = `#block${this.autoName++}`;
    while (this.nodes.has(name));
    return name;
  }

  private rollback(mark: number): void {
    for (let i = this.order.length - 1; i >= mark; i--) {
      this.nodes.delete(this.order[i].nodeName);
      this.order[i].close();
    }
    this.order.length = mark;
  }
}
