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
 * read-only, cache and discard flags unless it sets its own. A spec without `driver` but
 * with a `filename` opens the filename's protocol, as QEMU does for child options. A
 * failed open leaves the graph as it was.
 */
import * as E from 'fp-ts/lib/Either.js';
import { BlockBackend, type BackendOptions } from './block-backend.js';
import type { BlockEnv, NodeFlags, OpenContext, OpenModes } from './driver.js';
import './drivers/index.js';
import type { BlockError } from './errors.js';
import { BlockDriverState, type BdrvChild } from './node.js';
import { crumple, isPlainObject, parseBool, parseOptions } from './options.js';
import { findBlockDriver, findProtocolDriver, probeFormat } from './registry.js';
import { resolve as resolvePath } from 'node:path';

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

/** Deepest backing chain opened from image headers. */
const MAX_IMAGE_CHAIN = 256;

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
  const { check, noBacking } = inherited;
  return E.right(check || noBacking ? { readOnly, direct, noFlush, unmap, check, noBacking } : { readOnly, direct, noFlush, unmap });
}

/**
 * bdrv_fill_options: a spec with a `filename` and no `driver` (`file.image.filename=x`)
 * opens the protocol the filename names ('null-co://', else 'file').
 */
function fillDriver(spec: Record<string, unknown>): E.Either<BlockError, Record<string, unknown>> {
  const filename = spec.filename;
  if (spec.driver !== undefined || typeof filename !== 'string') return E.right(spec);
  return E.flatMap(findProtocolDriver(filename), (drv) => {
    const { filename: _, ...rest } = spec;
    const parsed = drv.parseFilename ? drv.parseFilename(filename) : E.right({ filename });
    return E.isLeft(parsed) ? parsed : E.right({ ...rest, ...parsed.right, driver: drv.formatName });
  });
}

export class BlockGraph {
  private readonly nodes = new Map<string, BlockDriverState>();
  /** Nodes in creation order (children before parents). */
  private readonly order: BlockDriverState[] = [];
  private readonly backendList: BlockBackend[] = [];
  private autoName = 0;
  /** Filenames of the images whose named children are being opened (backing-loop detection). */
  private readonly imageChain: string[] = [];

  constructor(readonly env: BlockEnv) {}

  /** A node by name. */
  node(name: string): BlockDriverState | undefined {
    return this.nodes.get(name);
  }

  get backends(): readonly BlockBackend[] {
    return this.backendList;
  }

  /** -blockdev: open a node (and the children its spec describes), in the tool's open `modes` if any. */
  blockdevAdd(spec: BlockdevSpec, modes: OpenModes = {}): E.Either<BlockError, BlockDriverState> {
    const mark = this.order.length;
    const r = this.open(crumple(spec), modes.check || modes.noBacking ? { ...DEFAULT_NODE_FLAGS, ...modes } : DEFAULT_NODE_FLAGS);
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
    for (const blk of this.backendList) blk.lostPower();
  }

  /** Close every node, parents first (a file node writes its cache back to the host file). */
  close(): void {
    for (let i = this.order.length - 1; i >= 0; i--) this.order[i].close();
    this.order.length = 0;
    this.nodes.clear();
    this.backendList.length = 0;
  }

  private open(given: Record<string, unknown>, inherited: NodeFlags): E.Either<BlockError, BlockDriverState> {
    const filled = fillDriver(given);
    if (E.isLeft(filled)) return filled;
    const spec = filled.right;
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
    const attach = (name: string, v: unknown): E.Either<BlockError, BlockDriverState | undefined> => {
      consumed.add(name);
      if (v === undefined) return E.right(undefined);
      const r = typeof v === 'string' ? this.lookup(v) : isPlainObject(v) ? this.open(v, flags.right) : E.left<BlockError>({ _tag: 'BadParameter', parameter: name, value: v, expected: 'a node name or a block device spec' });
      if (E.isRight(r)) children.push({ name, bs: r.right });
      return r;
    };
    const openOptionalChild = (name: string) => attach(name, spec[name]);
    const ctx: OpenContext = {
      nodeName,
      flags: flags.right,
      env: this.env,
      openOptionalChild,
      openImageChild: (name, fallback) => {
        const v = spec[name];
        consumed.add(name);
        if (v === null || (v === undefined && name === 'backing' && flags.right.noBacking)) return E.right(undefined);
        if (v !== undefined || fallback === undefined) return attach(name, v);
        const r = this.openImageChain(driver, children.find((c) => c.name === 'file')?.bs.filename, fallback, flags.right);
        if (E.isRight(r)) children.push({ name, bs: r.right });
        return r;
      },
      openImpliedChild: (name, fallback) => E.flatMap(attach(name, spec[name] ?? fallback), (bs) => (bs ? E.right(bs) : E.left({ _tag: 'ChildMissing', driver, child: name }))),
      openChild: (name) => E.flatMap(openOptionalChild(name), (bs) => (bs ? E.right(bs) : E.left({ _tag: 'ChildMissing', driver, child: name }))),
    };
    const s = drv.open(opts.right, ctx);
    if (E.isLeft(s)) return s;
    const bs = new BlockDriverState(nodeName, drv, s.right, flags.right, children, this.env);
    const filename = opts.right.filename;
    bs.filename = typeof filename === 'string' ? filename : bs.child('file')?.filename;
    const unknown = Object.keys(spec).find((k) => !consumed.has(k) && spec[k] !== undefined);
    if (unknown !== undefined) {
      bs.close();
      return E.left({ _tag: 'UnsupportedOption', driver, protocol: !!drv.protocol, option: unknown });
    }
    this.nodes.set(nodeName, bs);
    this.order.push(bs);
    return E.right(bs);
  }

  /**
   * Open a child an image names (`spec`: its protocol under `file`, `driver` absent to
   * probe), refusing a file already being opened further up the chain that `own` (the
   * parent image's filename) starts.
   */
  private openImageChain(parent: string, own: string | undefined, spec: Readonly<Record<string, unknown>>, inherited: NodeFlags): E.Either<BlockError, BlockDriverState> {
    const file = isPlainObject(spec.file) ? spec.file : spec;
    const key = typeof file.filename === 'string' ? file.filename : undefined;
    const mark = this.imageChain.length;
    if (mark === 0 && own !== undefined) this.imageChain.push(own);
    const chain = [...this.imageChain];
    const loop = key !== undefined && chain.some((f) => resolvePath(f) === resolvePath(key));
    if (loop || chain.length > MAX_IMAGE_CHAIN) {
      this.imageChain.length = mark;
      const message = loop
        ? `Backing file loop: ${[...chain, key].map((f) => `'${f}'`).join(' -> ')}`
        : `Backing chain is too long (more than ${MAX_IMAGE_CHAIN} images)`;
      return E.left({ _tag: 'DriverError', driver: parent, message });
    }
    if (key !== undefined) this.imageChain.push(key);
    const r = spec.driver === undefined && isPlainObject(spec.file) ? this.openProbed(spec, spec.file, inherited) : this.open({ ...spec }, inherited);
    this.imageChain.length = mark;
    return r;
  }

  /** bdrv_open without a driver: open `file`, then the format its first sector shows. */
  private openProbed(spec: Readonly<Record<string, unknown>>, file: Record<string, unknown>, inherited: NodeFlags): E.Either<BlockError, BlockDriverState> {
    const flags = nodeFlags(spec, inherited);
    if (E.isLeft(flags)) return flags;
    return E.flatMap(this.open({ ...file }, flags.right), (proto) => {
      const header = new Uint8Array(Math.min(512, proto.getLength()));
      const err = proto.preadv(0, header, { ns: 0 });
      const drv = err ? undefined : probeFormat(header, proto.filename ?? proto.nodeName);
      if (!drv) return E.left({ _tag: 'DriverError', driver: String(file.driver ?? 'file'), message: `Could not determine the image format of '${proto.filename ?? proto.nodeName}'` });
      return this.open({ ...spec, driver: drv.formatName, file: proto.nodeName }, inherited);
    });
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
