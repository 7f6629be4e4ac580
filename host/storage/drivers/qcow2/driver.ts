/**
 * `qcow2`: QEMU's qcow2 format driver (block/qcow2*.c, docs/interop/qcow2.txt) as a
 * BlockDriver. This file is the table; each operation lives in the module named for it.
 *
 * Children: `file` (the image), `data-file` (an external data file, when the image has
 * one: the option, else the name in the header — which QEMU 7.2 takes relative to the
 * current directory, not the image's), `backing` (the option, else the name
 * and format in the header, opened read-only; `backing: null` for none).
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO, type BlockDriver, type BlockStatus } from '../../driver.js';
import type { BlockError } from '../../errors.js';
import { blockErrorMessage, ioError } from '../../errors.js';
import type { OptionTable } from '../../options.js';
import { getHostOffset } from './cluster-map.js';
import { qcow2WriteCompressed } from './compressed-write.js';
import { createQcow2, QCOW2_CREATE_OPTIONS, type Qcow2CreateOptions } from './create.js';
import { COMPAT_LAZY_REFCOUNTS, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_DIRTY } from './format/features.js';
import { COMPRESSION_ZSTD, MAX_BACKING_FILE_NAME, QCOW_MAGIC, V3_HEADER_LENGTH } from './format/header.js';
import { updateHeader, writeCaches } from './header-update.js';
import { closeState, openState, reloadState, type NodeParams } from './lifecycle.js';
import { QCOW2_OPTIONS, readImageHeader } from './open.js';
import { qcow2Read } from './read.js';
import { isIoError, type Qcow2State } from './state.js';
import { qcow2Truncate } from './truncate.js';
import { qcow2Write } from './write.js';
import { qcow2Check } from './check/index.js';
import { qcow2SnapshotOps } from './snapshot/index.js';
import { makeEmpty } from './make-empty.js';
import { imageBitmapInfo } from './bitmaps/info.js';
import { markWritten, resizeBitmaps, truncateBitmapsCheck } from './bitmaps/persist.js';
import { qcow2Discard, qcow2WriteZeroes } from './zero-discard.js';

/** The driver's state: the qcow2 state and how to reopen it after a power cut. */
export interface Qcow2Node {
  readonly s: Qcow2State;
  readonly params: NodeParams;
}

/** bdrv_get_full_backing_filename_from_filename: relative names are relative to the image's directory. */
export function resolveImageName(image: string | undefined, name: string): string {
  if (path.isAbsolute(name) || /^[a-z][a-z0-9+.-]*:/i.test(name) || image === undefined || /^[a-z][a-z0-9+.-]*:/i.test(image)) return name;
  return path.join(path.dirname(image), name);
}

function openNode(opts: NodeParams['opts'], ctx: Parameters<BlockDriver['open']>[1]): E.Either<BlockError, Qcow2Node> {
  return E.flatMap(ctx.openChild('file'), (file) => {
    const acct = { ns: 0 };
    // The data file must be open before the state is built: its name is in the header.
    const img = readImageHeader(file, !ctx.flags.readOnly && !ctx.flags.check, acct);
    if (E.isLeft(img)) return img;
    const named = img.right.extensions.dataFile;
    const dataFile =
      img.right.header.incompatibleFeatures & INCOMPAT_DATA_FILE
        ? ctx.openImageChild('data-file', named === undefined ? undefined : { filename: named })
        : ctx.openOptionalChild('data-file');
    if (E.isLeft(dataFile)) return dataFile;
    const params: NodeParams = { nodeName: ctx.nodeName, file, dataFile: dataFile.right, readOnly: ctx.flags.readOnly, unmap: ctx.flags.unmap, check: ctx.flags.check, opts };
    return E.flatMap(openState(params, acct), (s) => {
      const name = s.backingFile;
      const fallback = name === undefined ? undefined : { driver: s.backingFormat, 'read-only': true, file: { filename: resolveImageName(file.filename, name) } };
      const backing = ctx.openImageChild('backing', fallback);
      if (E.isLeft(backing)) {
        closeState(s, acct);
        const why = backing.left._tag === 'DriverError' ? backing.left.message : blockErrorMessage(backing.left);
        return E.left({ _tag: 'DriverError', driver: 'qcow2', message: `Could not open backing file: ${why}` });
      }
      s.backing = backing.right;
      return E.right({ s, params });
    });
  });
}

const st = (n: Qcow2Node): Qcow2State => n.s;

export const qcow2Driver: BlockDriver<Qcow2Node, typeof QCOW2_OPTIONS> = {
  formatName: 'qcow2',
  options: QCOW2_OPTIONS,
  createOptions: QCOW2_CREATE_OPTIONS as OptionTable,

  probe(header) {
    if (header.length < V3_HEADER_LENGTH) return 0;
    const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
    return v.getUint32(0) === QCOW_MAGIC && v.getUint32(4) >= 2 ? 100 : 0;
  },

  create(filename, size, opts, ctx) {
    return createQcow2(filename, size, opts as unknown as Qcow2CreateOptions, ctx);
  },

  open: openNode,

  preadv: (n, offset, buf, acct) => qcow2Read(st(n), offset, buf, acct),
  // Each write sets the bits of the enabled persistent bitmaps first (bdrv_set_dirty, which QEMU calls whatever the outcome).
  pwritev: (n, offset, data, _flags, acct) => (markWritten(st(n), offset, data.length), qcow2Write(st(n), offset, data, acct)),
  writeZeroes: (n, offset, bytes, flags, acct) => (markWritten(st(n), offset, bytes), qcow2WriteZeroes(st(n), offset, bytes, flags, acct)),
  discard: (n, offset, bytes, acct) => (markWritten(st(n), offset, bytes), qcow2Discard(st(n), offset, bytes, acct)),
  writeCompressed: (n, offset, data, acct) => (markWritten(st(n), offset, data.length), qcow2WriteCompressed(st(n), offset, data, acct)),

  flushToOs(n, acct) {
    const s = st(n);
    return s.broken || s.readOnly ? null : writeCaches(s, acct);
  },

  blockStatus(n, offset, bytes): BlockStatus {
    const s = st(n);
    const run = s.broken ? undefined : getHostOffset(s, offset, bytes, { ns: 0 });
    if (!run || isIoError(run) || run.bytes <= 0) return { flags: BDRV_BLOCK_DATA, pnum: bytes };
    const t = run.type;
    let flags = 0;
    let map: number | undefined;
    if (t === 'NORMAL' || t === 'ZERO_ALLOC' || t === 'UNALLOCATED_ALLOC') {
      flags |= BDRV_BLOCK_OFFSET_VALID;
      map = run.hostOffset;
    }
    if (t === 'ZERO_PLAIN' || t === 'ZERO_ALLOC') flags |= BDRV_BLOCK_ZERO;
    else if (t !== 'UNALLOCATED_PLAIN' && t !== 'UNALLOCATED_ALLOC') flags |= BDRV_BLOCK_DATA;
    return map === undefined ? { flags, pnum: run.bytes } : { flags, pnum: run.bytes, map, file: s.dataFile };
  },

  truncate(n, size) {
    if (st(n).broken) return ioError('ENOMEDIUM', st(n).broken!);
    const err = (size % 512 === 0 ? truncateBitmapsCheck(st(n)) : null) ?? qcow2Truncate(st(n), size, 'off', { ns: 0 });
    if (!err) resizeBitmaps(st(n), st(n).size);
    return err;
  },

  getLength: (n) => st(n).size,

  close(n) {
    closeState(st(n), { ns: 0 });
  },

  powerCut(n) {
    reloadState(st(n), n.params);
  },

  info(n) {
    const s = st(n);
    const v3 = s.version >= 3;
    const data: Record<string, unknown> = { compat: v3 ? '1.1' : '0.10', 'compression-type': s.compressionType === COMPRESSION_ZSTD ? 'zstd' : 'zlib' };
    if (v3) data['lazy-refcounts'] = (s.compatibleFeatures & COMPAT_LAZY_REFCOUNTS) !== 0n;
    const bitmaps = v3 ? imageBitmapInfo(s) : undefined;
    if (bitmaps) data.bitmaps = bitmaps;
    data['refcount-bits'] = 2 ** s.refcountOrder;
    if (v3) {
      if (s.hasDataFile && s.dataFileName !== undefined) data['data-file'] = s.dataFileName;
      if (s.hasDataFile) data['data-file-raw'] = s.dataFileRaw;
      data.corrupt = (s.incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n;
      data['extended-l2'] = s.extendedL2;
    }
    return {
      clusterSize: s.clusterSize,
      dirty: (s.incompatibleFeatures & INCOMPAT_DIRTY) !== 0n,
      encrypted: s.cryptMethod !== 0,
      backingFilename: s.backingFile,
      backingFormat: s.backingFormat,
      formatSpecific: { type: 'qcow2', data },
    };
  },

  check: (n, fix, acct) => qcow2Check(st(n), fix, acct),
  snapshots: qcow2SnapshotOps<Qcow2Node>(),

  makeEmpty: (n, acct) => makeEmpty(st(n), acct),

  changeBackingFile(n, backing, format) {
    const s = st(n);
    const bad = (why: string): BlockError => ({ _tag: 'DriverError', driver: 'qcow2', message: `Could not change the backing file to '${backing ?? ''}': ${why}` });
    if (backing !== undefined && (s.dataFileRaw || backing.length > MAX_BACKING_FILE_NAME)) return bad('Invalid argument');
    s.backingFile = backing;
    s.backingFormat = backing === undefined ? undefined : format;
    const err = updateHeader(s, { ns: 0 });
    return err ? bad(err.message) : null;
  },
};
