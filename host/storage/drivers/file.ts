/**
 * `file`: QEMU's file-posix protocol driver over a real host file (node:fs).
 *
 * The image must exist (`qemu-img create`, here `fileDriver.create`, makes a sparse one);
 * reads past what was ever written return zeroes. Writes go to a volatile cache
 * (host-cache.ts) and reach the file on flush (fdatasync), so a power cut loses exactly
 * what was not flushed. Closing writes the cache back without syncing, as the host page
 * cache would.
 *
 * Discard and write-zeroes zero exactly. node:fs has no fallocate(PUNCH_HOLE): zeroing
 * inside the file writes zeroes (skipping what is already zero); zeroing to its end
 * shrinks and regrows it, which leaves a real hole (see file-store.ts).
 *
 * Modelled time (the real syscalls' wall time is not used):
 * - cache.direct=off (host page cache): a read whose chunks were touched since open (or
 *   the last power cut) is a hit, 'backend.file.cached' + bytes × 'copy.byte'; a miss,
 *   and every direct read, is 'backend.file.latency' + bytes × 'backend.bandwidth'.
 *   Writes are hits; the device time is paid by the flush: 'backend.file.flush' + dirty
 *   bytes × 'backend.bandwidth'. The page cache never evicts.
 * - cache.direct=on (O_DIRECT): reads and writes pay device time, flush pays
 *   'backend.file.flush'; request_alignment is 512, so the generic layer does
 *   read-modify-write for unaligned requests. (The file is not really opened O_DIRECT:
 *   Node cannot align its buffers.)
 * - aio=threads adds 'qemu.aio.completion-bh' per request; aio=native and io_uring add
 *   'qemu.aio.completion-native'. aio=native needs cache.direct=on, as in QEMU.
 */
import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../block-backend-api.js';
import type { BlockDriver, IoAcct } from '../driver.js';
import { ioErrorFromSystem, systemErrorReason } from '../errors.js';
import { CHUNK, VolatileCache } from '../host-cache.js';
import type { OptionTable } from '../options.js';
import { registerBlockDriver } from '../registry.js';
import { FileStore } from './file-store.js';

const OPTIONS = {
  filename: { type: 'string', required: true, help: 'path of the host file' },
  aio: { type: 'string', default: 'threads', values: ['threads', 'native', 'io_uring'], help: 'host AIO implementation' },
  locking: { type: 'string', default: 'auto', values: ['auto', 'on', 'off'], help: 'image locking (accepted; the model takes no locks)' },
} as const satisfies OptionTable;

/** request_alignment with cache.direct=on (a 512-byte logical block size). */
export const DIRECT_ALIGNMENT = 512;

interface FileCosts {
  readonly latency: number;
  readonly bandwidth: number;
  readonly cached: number;
  readonly copy: number;
  readonly flush: number;
  readonly aio: number;
}

export interface FileState {
  readonly fd: number;
  readonly nodeName: string;
  readonly direct: boolean;
  readonly store: FileStore;
  readonly cache: VolatileCache;
  /** Chunks in the modelled host page cache. */
  readonly resident: Set<number>;
  readonly costs: FileCosts;
}

const NOT_REGULAR = (filename: string) => `'file' driver requires '${filename}' to be a regular file`;

/** Mark [offset, offset+bytes) resident; true if it all was already. */
function touch(s: FileState, offset: number, bytes: number): boolean {
  let hit = true;
  const last = Math.floor((offset + bytes - 1) / CHUNK);
  for (let i = Math.floor(offset / CHUNK); i <= last; i++) {
    if (!s.resident.has(i)) {
      hit = false;
      s.resident.add(i);
    }
  }
  return hit;
}

function transferNs(s: FileState, offset: number, bytes: number, isWrite: boolean): number {
  const c = s.costs;
  const hit = !s.direct && (touch(s, offset, bytes) || isWrite);
  return c.aio + (hit ? c.cached + bytes * c.copy : c.latency + bytes * c.bandwidth);
}

/** Run host file I/O, turning a system error into the request's EIO/ENOSPC. */
function io(s: FileState, acct: IoAcct, ns: number, fn: () => void): BlockIoError | null {
  acct.ns += ns;
  try {
    fn();
    return null;
  } catch (err) {
    return ioErrorFromSystem(s.nodeName, err);
  }
}

export const fileDriver: BlockDriver<FileState, typeof OPTIONS> = {
  formatName: 'file',
  protocol: true,
  protocolName: 'file',
  options: OPTIONS,

  parseFilename(filename) {
    return E.right({ filename: filename.startsWith('file:') ? filename.slice(5) : filename });
  },

  create(filename, size) {
    try {
      const fd = fs.openSync(filename, 'w', 0o644);
      try {
        fs.ftruncateSync(fd, size);
      } finally {
        fs.closeSync(fd);
      }
      return E.right(undefined);
    } catch (err) {
      return E.left({ _tag: 'CouldNotCreate', filename, reason: systemErrorReason(err) });
    }
  },

  open(opts, ctx) {
    const { filename, aio } = opts;
    const { direct, readOnly } = ctx.flags;
    if (aio === 'native' && !direct) {
      return E.left({ _tag: 'DriverError', driver: 'file', message: 'aio=native was specified, but it requires cache.direct=on, which was not specified.' });
    }
    let fd: number;
    try {
      fd = fs.openSync(filename, readOnly ? 'r' : 'r+');
    } catch (err) {
      return E.left({ _tag: 'CouldNotOpen', filename, reason: systemErrorReason(err) });
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      return E.left({ _tag: 'DriverError', driver: 'file', message: NOT_REGULAR(filename) });
    }
    const c = ctx.env.costs;
    const store = new FileStore(fd, st.size);
    return E.right({
      fd,
      nodeName: ctx.nodeName,
      direct,
      store,
      cache: new VolatileCache(store),
      resident: new Set<number>(),
      costs: {
        latency: c.ns('backend.file.latency'),
        bandwidth: c.ns('backend.bandwidth'),
        cached: c.ns('backend.file.cached'),
        copy: c.ns('copy.byte'),
        flush: c.ns('backend.file.flush'),
        aio: c.ns(aio === 'threads' ? 'qemu.aio.completion-bh' : 'qemu.aio.completion-native'),
      },
    });
  },

  requestAlignment(s) {
    return s.direct ? DIRECT_ALIGNMENT : 1;
  },

  preadv(s, offset, buf, acct) {
    return io(s, acct, transferNs(s, offset, buf.length, false), () => s.cache.read(offset, buf));
  },

  pwritev(s, offset, data, _flags, acct) {
    return io(s, acct, transferNs(s, offset, data.length, true), () => s.cache.write(offset, data));
  },

  flush(s, acct) {
    const ns = s.costs.aio + s.costs.flush + (s.direct ? 0 : s.cache.dirtyBytes * s.costs.bandwidth);
    return io(s, acct, ns, () => s.cache.flush());
  },

  discard(s, offset, bytes, acct) {
    return io(s, acct, s.costs.aio + (s.direct ? s.costs.latency : s.costs.cached), () => s.cache.zero(offset, bytes));
  },

  writeZeroes(s, offset, bytes, _flags, acct) {
    return io(s, acct, s.costs.aio + (s.direct ? s.costs.latency : s.costs.cached), () => s.cache.zero(offset, bytes));
  },

  truncate(s, size) {
    return io(s, { ns: 0 }, 0, () => s.cache.truncate(size));
  },

  getLength(s) {
    return s.store.length;
  },

  /** file-posix answers bdrv_get_info with nothing to add (so qemu-img info shows a dirty flag). */
  info() {
    return {};
  },

  /** st_blocks × 512: what the host file occupies (qemu-img's actual-size). */
  allocatedFileSize(s) {
    try {
      return fs.fstatSync(s.fd).blocks * 512;
    } catch {
      return undefined;
    }
  },

  close(s) {
    try {
      s.cache.flush(false);
      s.store.settle();
    } catch {
      // The host failed to take the last writes; like close(2)'s late errors, nobody is left to tell.
    }
    fs.closeSync(s.fd);
  },

  powerCut(s) {
    s.cache.drop();
    s.resident.clear();
  },
};

registerBlockDriver(fileDriver);
