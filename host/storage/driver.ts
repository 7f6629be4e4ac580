/**
 * `BlockDriver`: the one table of operations every block driver fills, QEMU's
 * `struct BlockDriver` (include/block/block_int-common.h). A driver is a plain object of
 * this type; it keeps its per-node state in the value `open` returns (QEMU's
 * `bs->opaque`), which every other operation receives first.
 *
 * The generic layer (node.ts, QEMU's block/io.c) stands between callers and drivers and
 * guarantees what each field's comment says, so drivers need not check it again. Optional
 * fields have a documented default.
 *
 * Operations are synchronous within the model: data lives in memory or in a real host
 * file (fs.readSync/writeSync). Time is modelled, not spent: a protocol driver adds the
 * service time of what it did to the request's `IoAcct`, and the BlockBackend completes
 * the request that much later on the simulation's clock.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from './block-backend-api.js';
import type { BlockError } from './errors.js';
import type { IoVec } from './iovec.js';
import type { OptionTable, ParsedOptions } from './options.js';
import type { BlockDriverState } from './node.js';
import type { BlkdebugEvent, CheckFix, CreateContext, DriverImageInfo, ImageCheckResult, SnapshotOps } from './image-api.js';
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import type { CostModel } from '../../sim/costs.js';

/** The simulation a block graph runs in. */
export interface BlockEnv {
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
}

/**
 * The modelled time of one request so far, in ns from its submission. Each protocol
 * driver adds its service time; steps done one after another (a write, then the flush
 * that emulates FUA) add up.
 */
export interface IoAcct {
  ns: number;
}

/** BdrvRequestFlags for writes. */
export interface WriteReqFlags {
  /** BDRV_REQ_FUA: durable before completion. */
  readonly fua?: boolean;
}

export interface ZeroReqFlags extends WriteReqFlags {
  /** BDRV_REQ_MAY_UNMAP: the range may be deallocated (set only when the node has discard=unmap). */
  readonly mayUnmap?: boolean;
}

/** Block status flags, QEMU's BDRV_BLOCK_* (include/block/block-common.h). */
export const BDRV_BLOCK_DATA = 0x01;
export const BDRV_BLOCK_ZERO = 0x02;
export const BDRV_BLOCK_OFFSET_VALID = 0x04;
/** "Ask `file` at `map`": the generic layer follows it (raw does this). */
export const BDRV_BLOCK_RAW = 0x08;
export const BDRV_BLOCK_ALLOCATED = 0x10;
export const BDRV_BLOCK_EOF = 0x20;

/** What `[offset, offset + pnum)` holds: a run of equal status. */
export interface BlockStatus {
  readonly flags: number;
  /** Bytes from the queried offset that share `flags` (> 0 unless at end of node). */
  readonly pnum: number;
  /** With OFFSET_VALID: where the run lives in `file`. */
  readonly map?: number;
  readonly file?: BlockDriverState;
}

/** Open flags of a node, inherited by its children unless they set their own (QEMU's bdrv_inherited_options). */
export interface NodeFlags {
  /** read-only=on: writes, discards, resizes fail with EROFS. */
  readonly readOnly: boolean;
  /** cache.direct=on: bypass the host page cache (O_DIRECT). */
  readonly direct: boolean;
  /** cache.no-flush=on: flushes never reach the disk (cache=unsafe). */
  readonly noFlush: boolean;
  /** discard=unmap: discard requests are passed down (default ignore: they succeed doing nothing). */
  readonly unmap: boolean;
  /**
   * BDRV_O_CHECK: opened for `qemu-img check`, so a format lets an image it would refuse
   * open for checking and repair (qcow2: a corrupt one writable, a dirty one unrepaired,
   * its snapshot table unread). Not a spec option: BlockGraph.blockdevAdd's `open.check`.
   */
  readonly check?: boolean;
  /** BDRV_O_NO_BACKING: a backing file the image names is not opened (qemu-img info, rebase -u). */
  readonly noBacking?: boolean;
}

/** Open modes a tool asks for (qemu-img's BDRV_O_CHECK and BDRV_O_NO_BACKING), not spec options. */
export type OpenModes = Pick<NodeFlags, 'check' | 'noBacking'>;

/** What `open` is given besides its parsed options. */
export interface OpenContext {
  readonly nodeName: string;
  readonly flags: NodeFlags;
  readonly env: BlockEnv;
  /**
   * bdrv_open_child: open (or look up, when the option is a node name) the child given
   * by the option `name` (e.g. 'file'); the child inherits this node's flags.
   */
  openChild(name: string): E.Either<BlockError, BlockDriverState>;
  /** As openChild, but an absent option is not an error (e.g. 'backing'). */
  openOptionalChild(name: string): E.Either<BlockError, BlockDriverState | undefined>;
  /**
   * bdrv_open_child with a default: the child given by the option `name` if the spec has
   * one, else the node `fallback` (a -blockdev spec) describes — a file the image itself
   * names, such as a VMDK extent ('extents.0') or a parentFileNameHint ('backing').
   * The child inherits this node's flags unless its spec sets its own.
   */
  openImpliedChild(name: string, fallback: Readonly<Record<string, unknown>>): E.Either<BlockError, BlockDriverState>;
  /**
   * bdrv_open_backing_file: like openImpliedChild, but the option may be `null` (no child,
   * QEMU's `backing=null`) and `fallback` may be undefined (the image names none). A
   * fallback without `driver` probes the format of its `file`. A fallback naming a file
   * already being opened further up this chain is refused (a backing file loop).
   */
  openImageChild(name: string, fallback: Readonly<Record<string, unknown>> | undefined): E.Either<BlockError, BlockDriverState | undefined>;
}

export interface BlockDriver<S = unknown, O extends OptionTable = OptionTable> {
  /** The name `driver=` selects, e.g. 'raw', 'file', 'null-co'. Unique in the registry. */
  readonly formatName: string;
  /** A protocol driver stores bytes itself (file, memory, null-co); a format driver sits over a `file` child. Default false. */
  readonly protocol?: boolean;
  /** For protocols: the filename prefix that selects this driver ('null-co' for 'null-co://'). */
  readonly protocolName?: string;
  /** The options `open` accepts, with type, default and help. Others are refused with "does not support the option". */
  readonly options: O;
  /**
   * The driver honours WriteReqFlags.fua itself. Default false: the generic layer follows a
   * FUA write with a flush of the node. 'child': as its first child does (raw and blkdebug
   * pass FUA down only where it is honoured, QEMU's supported_write_flags = FUA & file's).
   */
  readonly supportsFua?: boolean | 'child';

  /** Score (0 = not mine, higher = surer) that `header` (the image's first ≤ 512 bytes) is in this format. Default: never probed. */
  probe?(header: Uint8Array, filename: string): number;
  /** bdrv_parse_filename, for protocols: options from a filename such as 'null-co://'. Default `{ filename }`. */
  parseFilename?(filename: string): E.Either<BlockError, Record<string, unknown>>;
  /** qemu-img create's `-o` options (QEMU's create_opts), besides the size. Default: none. */
  readonly createOptions?: OptionTable;
  /**
   * Create an empty image of `size` bytes (qemu-img create). `opts` are the `-o` options
   * parsed against `createOptions` (defaults filled in). Default: creation unsupported.
   * On failure nothing half-made is left behind that claims to be an image.
   */
  create?(filename: string, size: number, opts: ParsedOptions<OptionTable>, ctx: CreateContext): E.Either<BlockError, void>;
  /** Open a node with options already parsed and checked against `options`. Children are opened through `ctx`. */
  open(opts: ParsedOptions<O>, ctx: OpenContext): E.Either<BlockError, S>;

  /** request_alignment: the generic layer pads reads and writes to it (read-modify-write). Default 1. */
  requestAlignment?(s: S): number;
  /**
   * Read `buf.length` bytes at `offset` into `buf`. Guarantees: `buf.length > 0`;
   * `offset + buf.length <= getLength(s)`; `offset` is a multiple of requestAlignment,
   * and so is the length unless the request ends at the end of the node.
   */
  preadv(s: S, offset: number, buf: Uint8Array, acct: IoAcct): BlockIoError | null;
  /**
   * Write `data` at `offset`. Same guarantees as preadv, and the node is writable. The
   * driver must not keep `data` (the caller may reuse it). FUA is passed only if
   * supportsFua.
   */
  pwritev(s: S, offset: number, data: Uint8Array, flags: WriteReqFlags, acct: IoAcct): BlockIoError | null;
  /**
   * `pwritev` of the pieces of `data` in order, for a driver that can take them as they are
   * (same guarantees, and the same rule: keep no piece). Default: the generic layer gathers
   * them and calls pwritev.
   */
  pwritevParts?(s: S, offset: number, data: IoVec, flags: WriteReqFlags, acct: IoAcct): BlockIoError | null;
  /**
   * bdrv_co_flush_to_os: push data the driver caches itself (qcow2's metadata caches) down
   * to its children. Called on every flush, even with cache.no-flush. Default: nothing cached.
   */
  flushToOs?(s: S, acct: IoAcct): BlockIoError | null;
  /**
   * bdrv_co_flush_to_disk: make everything written so far durable. Called only when
   * something was written since the last successful flush and cache.no-flush is off;
   * the generic layer then flushes the children. Default: nothing to do at this node.
   */
  flush?(s: S, acct: IoAcct): BlockIoError | null;
  /**
   * bdrv_co_pwritev_compressed: write `data` compressed (qemu-img convert -c). Guarantees
   * from the caller, not the generic layer: `offset` is cluster-aligned and `data` is whole
   * clusters, or ends at the end of the node. Default: "Compression is not supported".
   */
  writeCompressed?(s: S, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null;
  /**
   * pdiscard: the range may be deallocated; its content afterwards is unspecified unless
   * the driver says otherwise. Guarantees: bytes > 0, within the node, node writable,
   * discard=unmap. Any byte alignment. Default: discard ignored (it is advisory).
   */
  discard?(s: S, offset: number, bytes: number, acct: IoAcct): BlockIoError | null;
  /**
   * pwrite_zeroes: the range reads as zeroes afterwards. Guarantees as discard, except
   * that discard=unmap is not required (it only sets flags.mayUnmap). Any byte alignment.
   * Default: the generic layer writes zero buffers with pwritev.
   */
  writeZeroes?(s: S, offset: number, bytes: number, flags: ZeroReqFlags, acct: IoAcct): BlockIoError | null;
  /**
   * Status of the run starting at `offset`, at most `bytes` long. Guarantees: bytes > 0,
   * within the node. Default: protocols report DATA | OFFSET_VALID for the whole range,
   * formats DATA.
   */
  blockStatus?(s: S, offset: number, bytes: number): BlockStatus;
  /** Resize to `size` bytes; new bytes read as zeroes. Guarantees: size a safe integer ≥ 0, node writable. Default: ENOTSUP. */
  truncate?(s: S, size: number): BlockIoError | null;
  /** The node's size in bytes. */
  getLength(s: S): number;
  /** Release host resources. Called once; children are closed after their parents by the graph. */
  close(s: S): void;
  /** qemu-img info: what the format knows about the image. Default: nothing beyond the node's size. */
  info?(s: S): DriverImageInfo;
  /** Host bytes the image occupies (qemu-img's actual-size), for protocols. Default: unknown. */
  allocatedFileSize?(s: S): number | undefined;
  /** qemu-img check [-r]: consistency check, repairing what `fix` asks. Default: "This image format does not support checks". */
  check?(s: S, fix: CheckFix, acct: IoAcct): E.Either<BlockError, ImageCheckResult>;
  /** Internal snapshots (qcow2). Default: none. */
  readonly snapshots?: SnapshotOps<S>;
  /** bdrv_make_empty: drop all data so reads fall through to the backing file (qemu-img commit). */
  makeEmpty?(s: S, acct: IoAcct): BlockIoError | null;
  /** bdrv_change_backing_file: rewrite the backing file name and format in the image (qemu-img rebase). */
  changeBackingFile?(s: S, backing: string | undefined, backingFormat: string | undefined): BlockError | null;
  /**
   * bdrv_co_pwritev_compressed (qemu-img convert -c): store `data` compressed at `offset`.
   * Guarantees: offset is a multiple of the cluster size `info()` reports; data.length is
   * one cluster, or less for the image's last cluster; the node is writable. Default:
   * compression unsupported ("Compression not supported for this file format").
   */
  writeCompressed?(s: S, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null;
  /** bdrv_debug_event: a parent announces what it does next (blkdebug fails requests on these). */
  debugEvent?(s: S, event: BlkdebugEvent): void;
  /**
   * The model's power cut: drop whatever was written but never reached stable storage
   * (the host page cache, a disk's volatile write cache). Default: nothing volatile here.
   */
  powerCut?(s: S): void;
}

/** The registry's view of a driver: its state and option types erased. */
export type AnyBlockDriver = BlockDriver<unknown, OptionTable>;
