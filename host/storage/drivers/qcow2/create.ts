/**
 * qemu-img create -f qcow2 (block/qcow2.c qcow2_co_create): a header and a refcount table
 * with one refcount block are written, the image is opened, those three clusters are
 * allocated, the full header (extensions, feature table) written, the image resized to
 * its size (which allocates the L1 table), and the backing file recorded. The result is
 * byte for byte what qemu-img 7.2 makes.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from '../../errors.js';
import type { CreateContext } from '../../image-api.js';
import type { BlockDriverState } from '../../node.js';
import type { OptionTable, ParsedOptions } from '../../options.js';
import { AUTOCLEAR_DATA_FILE_RAW, COMPAT_LAZY_REFCOUNTS, INCOMPAT_COMPRESSION, INCOMPAT_DATA_FILE, INCOMPAT_EXTL2 } from './format/features.js';
import { COMPRESSION_ZLIB, COMPRESSION_ZSTD, MAX_BACKING_FILE_NAME, MAX_CLUSTER_BITS, MIN_CLUSTER_BITS, QCOW_MAGIC, V3_HEADER_LENGTH } from './format/header.js';
import { SUBCLUSTERS_PER_CLUSTER } from './format/l2-entry.js';
import { updateHeader } from './header-update.js';
import { closeState, openState } from './lifecycle.js';
import { DEFAULT_OPEN_OPTIONS } from './open.js';
import { allocClusters } from './refcounts.js';
import { isIoError, type Qcow2State } from './state.js';
import { qcow2Truncate, type PreallocMode } from './truncate.js';

export const QCOW2_CREATE_OPTIONS = {
  // QEMU's order (qcow2_create_opts: the create-only options, then QCOW_COMMON_OPTIONS,
  // which amend shares): the "Formatting" line lists them so. `size` marks its place.
  cluster_size: { type: 'size', default: 65536, help: 'qcow2 cluster size' },
  extended_l2: { type: 'bool', default: false, help: 'Extended L2 tables' },
  preallocation: { type: 'string', help: 'Preallocation mode (allowed values: off, metadata, falloc, full)' },
  compression_type: { type: 'string', default: 'zlib', help: 'Compression method used for image cluster compression' },
  size: { type: 'size', help: 'Virtual disk size' },
  compat: { type: 'string', help: 'Compatibility level (v2 [0.10] or v3 [1.1])' },
  backing_file: { type: 'string', help: 'File name of a base image' },
  backing_fmt: { type: 'string', help: 'Image format of the base image' },
  data_file: { type: 'string', help: 'File name of an external data file' },
  data_file_raw: { type: 'bool', help: 'The external data file must stay valid as a raw image' },
  lazy_refcounts: { type: 'bool', default: false, help: 'Postpone refcount updates' },
  refcount_bits: { type: 'number', default: 16, help: 'Width of a reference count entry in bits' },
} as const satisfies OptionTable;

export type Qcow2CreateOptions = ParsedOptions<typeof QCOW2_CREATE_OPTIONS>;

/** What the options ask for, checked. */
interface Plan {
  readonly version: number;
  readonly clusterSize: number;
  readonly refcountOrder: number;
  readonly prealloc: PreallocMode;
  readonly compressionType: number;
}

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'qcow2', message });
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const PREALLOC: readonly string[] = ['off', 'metadata', 'falloc', 'full'];

/** The checks of qcow2_co_create_opts and qcow2_co_create, in their order and words. */
export function planCreate(o: Qcow2CreateOptions): E.Either<BlockError, Plan> {
  const compat = o.compat ?? '1.1';
  const version = compat === '0.10' || compat === 'v2' ? 2 : compat === '1.1' || compat === 'v3' ? 3 : 0;
  if (!version) return fail(`Parameter 'version' does not accept value '${compat}'`);
  const prealloc = o.preallocation ?? 'off';
  if (!PREALLOC.includes(prealloc)) return fail(`Parameter 'preallocation' does not accept value '${prealloc}'`);
  const ct = o.compression_type;
  if (ct !== undefined && ct !== 'zlib' && ct !== 'zstd') return fail(`Parameter 'compression-type' does not accept value '${ct}'`);
  const ext = o.extended_l2;
  if (ext && version < 3) return fail('Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  const cs = o.cluster_size;
  const bits = Math.log2(cs);
  if (!isPow2(cs) || bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS) return fail(`Cluster size must be a power of two between 512 and ${2 ** (MAX_CLUSTER_BITS - 10)}k`);
  const minExt = 512 * SUBCLUSTERS_PER_CLUSTER;
  if (ext && cs < minExt) return fail(`Extended L2 entries are only supported with cluster sizes of at least ${minExt} bytes`);
  if (o.backing_file !== undefined && prealloc !== 'off' && !ext) return fail('Backing file and preallocation can only be used at the same time if extended_l2 is on');
  if (o.backing_fmt !== undefined && o.backing_file === undefined) return fail('Backing format cannot be used without backing file');
  if (o.lazy_refcounts && version < 3) return fail('Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  const rb = o.refcount_bits;
  if (rb > 64 || !isPow2(rb)) return fail('Refcount width must be a power of two and may not exceed 64 bits');
  if (version < 3 && rb !== 16) return fail('Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)');
  if (o.data_file_raw && o.data_file === undefined) return fail('data-file-raw requires data-file');
  if (o.data_file_raw && o.backing_file !== undefined) return fail('Backing file and data-file-raw cannot be used at the same time');
  if (o.data_file !== undefined && version < 3) return fail('External data files are only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  if (ct === 'zstd' && version < 3) return fail('Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)');
  if (o.backing_file !== undefined && o.backing_file.length > MAX_BACKING_FILE_NAME) return fail(`Could not assign backing file '${o.backing_file}' with format '${o.backing_fmt ?? ''}': Invalid argument`);
  return E.right({
    version,
    clusterSize: cs,
    refcountOrder: Math.log2(rb),
    // data-file-raw needs the 1:1 mapping that metadata preallocation gives.
    prealloc: o.data_file_raw && prealloc === 'off' ? 'metadata' : (prealloc as PreallocMode),
    compressionType: ct === 'zstd' ? COMPRESSION_ZSTD : COMPRESSION_ZLIB,
  });
}

/** The minimal header and refcount table qcow2_co_create writes before opening the image. */
function bootstrap(p: Plan, o: Qcow2CreateOptions, hasDataFile: boolean): Uint8Array {
  const cs = p.clusterSize;
  const out = new Uint8Array(3 * cs);
  const v = new DataView(out.buffer);
  v.setUint32(0, QCOW_MAGIC);
  v.setUint32(4, p.version);
  v.setUint32(20, Math.log2(cs));
  v.setBigUint64(48, BigInt(cs));
  v.setUint32(56, 1);
  let incompat = 0n;
  if (hasDataFile) incompat |= INCOMPAT_DATA_FILE;
  if (p.compressionType !== COMPRESSION_ZLIB) incompat |= INCOMPAT_COMPRESSION;
  if (o.extended_l2) incompat |= INCOMPAT_EXTL2;
  v.setBigUint64(72, incompat);
  v.setBigUint64(80, o.lazy_refcounts ? COMPAT_LAZY_REFCOUNTS : 0n);
  v.setBigUint64(88, o.data_file_raw ? AUTOCLEAR_DATA_FILE_RAW : 0n);
  v.setUint32(96, p.refcountOrder);
  v.setUint32(100, V3_HEADER_LENGTH);
  out[104] = p.compressionType;
  v.setBigUint64(cs, BigInt(2 * cs));
  return out;
}

function build(s: Qcow2State, p: Plan, o: Qcow2CreateOptions, size: number): E.Either<BlockError, void> {
  const acct = { ns: 0 };
  const io = (what: string, err: { message: string } | null): E.Either<BlockError, void> => (err ? fail(`${what}: ${err.message}`) : E.right(undefined));
  const at = allocClusters(s, 3 * p.clusterSize, acct);
  if (isIoError(at)) return fail(`Could not allocate clusters for qcow2 header and refcount table: ${at.message}`);
  if (at !== 0) return fail('Huh, first cluster in empty image is already in use?');
  if (o.data_file !== undefined) s.dataFileName = o.data_file;
  let r = io('Could not update qcow2 header', updateHeader(s, acct));
  if (E.isLeft(r)) return r;
  r = io('Could not resize image', qcow2Truncate(s, size, p.prealloc, acct));
  if (E.isLeft(r)) return r;
  if (o.backing_file !== undefined) {
    s.backingFile = o.backing_file;
    s.backingFormat = o.backing_fmt;
    const err = updateHeader(s, acct);
    if (err) return fail(`Could not assign backing file '${o.backing_file}' with format '${o.backing_fmt ?? ''}': ${err.message}`);
  }
  return E.right(undefined);
}

/** qemu-img create: `size` is rounded up to 512 bytes, as qemu-img does. */
export function createQcow2(filename: string, size: number, opts: Qcow2CreateOptions, ctx: CreateContext): E.Either<BlockError, void> {
  const plan = planCreate(opts);
  if (E.isLeft(plan)) return plan;
  const p = plan.right;
  const rounded = Math.ceil(size / 512) * 512;
  const opened: BlockDriverState[] = [];
  const closeAll = (): void => opened.forEach((bs) => bs.close());
  const file = ctx.createFile(filename, 0);
  if (E.isLeft(file)) return file;
  opened.push(file.right);
  let dataFile: BlockDriverState | undefined;
  if (opts.data_file !== undefined) {
    // QEMU 7.2 takes the data file's name as given: relative to the current directory.
    const df = ctx.createFile(opts.data_file, 0);
    if (E.isLeft(df)) {
      closeAll();
      return df;
    }
    dataFile = df.right;
    opened.push(dataFile);
  }
  const acct = { ns: 0 };
  const err = file.right.pwritev(0, bootstrap(p, opts, dataFile !== undefined), {}, acct);
  if (err) {
    closeAll();
    return fail(`Could not write qcow2 header: ${err.message}`);
  }
  const st = openState({ nodeName: filename, file: file.right, dataFile, readOnly: false, unmap: false, opts: DEFAULT_OPEN_OPTIONS }, acct);
  if (E.isLeft(st)) {
    closeAll();
    return st;
  }
  const r = build(st.right, p, opts, rounded);
  closeState(st.right, acct);
  closeAll();
  return r;
}
