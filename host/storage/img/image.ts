/**
 * Images as qemu-img opens them (img_open / blk_new_open): a filename, a format (probed
 * from the first sector when not given), read-only or writable, in a graph of its own.
 * Requests go straight to the root node, synchronously: a tool has no guest to overlap
 * with, and no modelled time is reported.
 *
 * Also what every command asks of an opened image: its length as QEMU's block layer
 * gives it (a whole number of 512-byte sectors: a 1000-byte raw file is a 1024-byte
 * disk whose last 24 bytes read as zeroes), its backing chain, the host bytes it
 * occupies, and backing file names resolved as QEMU resolves them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../block-backend-api.js';
import { openDrive } from '../drive.js';
import type { BlockEnv } from '../driver.js';
import { BlockGraph } from '../graph.js';
import type { BlockDriverState } from '../node.js';
import { standaloneEnv } from '../open.js';
import type { ImgError } from './errors.js';

export const BDRV_SECTOR_SIZE = 512;

export interface ImageOpenOptions {
  /** -f: the format; undefined probes it. */
  readonly format?: string;
  /** BDRV_O_RDWR. Default read-only. */
  readonly writable?: boolean;
  /** BDRV_O_CHECK (qemu-img check): an image its format would refuse may open for checking and repair. */
  readonly check?: boolean;
  /** BDRV_O_NO_BACKING (qemu-img info, rebase -u): the backing file is not opened. */
  readonly noBacking?: boolean;
  readonly env?: BlockEnv;
}

export interface OpenImage {
  /** The name the image was opened by. */
  readonly filename: string;
  readonly graph: BlockGraph;
  /** The root node (the format node). */
  readonly bs: BlockDriverState;
  /** No format was given and probing chose raw: qemu-img warns before writing to such an image. */
  readonly probedRaw: boolean;
  /** Flush what was written and close every node. */
  close(): BlockIoError | null;
}

/** img_open: open `filename` (with its backing chain, when its format has one and `noBacking` is not set). */
export function openImage(filename: string, opts: ImageOpenOptions = {}): E.Either<ImgError, OpenImage> {
  if (filename === '') {
    return E.left({ _tag: 'OpenFailed', filename, error: { _tag: 'DriverError', driver: 'file', message: "The 'file' block driver requires a file name" } });
  }
  const graph = new BlockGraph(opts.env ?? standaloneEnv());
  const blk = openDrive(
    graph,
    { file: filename, format: opts.format, readonly: !opts.writable, ...(opts.writable ? { discard: 'unmap' } : {}) },
    { check: opts.check, noBacking: opts.noBacking },
  );
  if (E.isLeft(blk)) {
    graph.close();
    return E.left({ _tag: 'OpenFailed', filename, error: blk.left });
  }
  const bs = blk.right.root;
  return E.right({
    filename,
    graph,
    bs,
    probedRaw: opts.format === undefined && bs.drv.formatName === 'raw',
    close() {
      const err = opts.writable ? bs.flush({ ns: 0 }) : null;
      graph.close();
      return err;
    },
  });
}

/** bdrv_getlength: the node's size rounded up to whole sectors. */
export function imageLength(bs: BlockDriverState): number {
  return Math.ceil(bs.getLength() / BDRV_SECTOR_SIZE) * BDRV_SECTOR_SIZE;
}

/** backing_bs. */
export function backingOf(bs: BlockDriverState): BlockDriverState | undefined {
  return bs.child('backing');
}

/** The node and its backing files, top first. */
export function backingChain(bs: BlockDriverState): BlockDriverState[] {
  const chain: BlockDriverState[] = [];
  for (let n: BlockDriverState | undefined = bs; n && !chain.includes(n); n = backingOf(n)) chain.push(n);
  return chain;
}

/** The node's host file name (QEMU's bs->filename), when it has one. */
export function nodeFilename(bs: BlockDriverState): string | undefined {
  return bs.filename;
}

/**
 * bdrv_get_allocated_file_size (qemu-img's actual-size): a protocol's own answer; a
 * format's is the sum of its storage children's (its backing file is not its storage).
 * Undefined when some node cannot tell.
 */
export function allocatedFileSize(bs: BlockDriverState): number | undefined {
  if (bs.drv.protocol) return bs.drv.allocatedFileSize?.(bs.opaque);
  let sum = 0;
  for (const c of bs.children) {
    if (c.name === 'backing') continue;
    const n = allocatedFileSize(c.bs);
    if (n === undefined) return undefined;
    sum += n;
  }
  return sum;
}

const hasProtocol = (p: string): boolean => {
  const colon = p.indexOf(':');
  const slash = p.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash);
};

/**
 * bdrv_get_full_backing_filename_from_filename: a relative backing name is taken relative
 * to the directory of the image that names it ("b.raw" in "sub/q.qcow2" is "sub/b.raw").
 */
export function fullBackingFilename(image: string, backing: string): E.Either<ImgError, string> {
  if (backing === '' || hasProtocol(backing) || backing.startsWith('/')) return E.right(backing);
  if (image === '' || image.startsWith('json:')) return E.left({ _tag: 'Refused', message: `Cannot use relative backing file names for '${image}'` });
  const base = hasProtocol(image) ? image.slice(image.indexOf(':') + 1) : image;
  const slash = base.lastIndexOf('/');
  const dir = slash < 0 ? image.slice(0, image.length - base.length) : image.slice(0, image.length - base.length + slash + 1);
  return E.right(dir + backing);
}
