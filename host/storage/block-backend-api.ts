/**
 * What a device model (virtio-blk, later scsi-hd, IDE) sees of its drive: QEMU's
 * BlockBackend. Offsets and lengths are in bytes. Every operation completes later, on
 * the simulation's clock, through its callback: never inline, because the real block
 * layer never completes inline and the asynchrony (queue depth, batching) is what we
 * model.
 *
 * Guest-visible outcomes are values: a failed request calls back with a `BlockIoError`
 * (the device turns it into VIRTIO_BLK_S_IOERR); nothing a guest does can make these
 * throw.
 */
import type { IoVec } from './iovec.js';

/** An I/O error as the device sees it, with the errno the host would have seen. */
export interface BlockIoError {
  /**
   * ENODATA and EREMOTEIO are what Linux's block layer reports for a medium error and a
   * target failure of the host's own disk (blk_errors[]: BLK_STS_MEDIUM, BLK_STS_TARGET).
   */
  readonly errno: 'EIO' | 'ENOSPC' | 'EROFS' | 'EINVAL' | 'ENOTSUP' | 'ENOMEDIUM' | 'ENODATA' | 'EREMOTEIO';
  readonly message: string;
}

/** BlockdevOnError without `auto`: what a drive does with a failed request (QEMU -drive rerror=/werror=). */
export type BlockdevOnError = 'report' | 'ignore' | 'stop' | 'enospc';

/** -drive's defaults: rerror=report, werror=enospc. */
export const DRIVE_ON_ERROR_DEFAULT = { read: 'report', write: 'enospc' } as const satisfies Record<string, BlockdevOnError>;

export type BlockCallback<T = void> = (err: BlockIoError | null, value?: T) => void;

export interface WriteFlags {
  /** Force Unit Access: durable before completion. */
  fua?: boolean;
}

export interface BlockBackendApi {
  /** The node name of the root of this backend's graph (for traces). */
  readonly name: string;
  /** Size in bytes. */
  length(): number;
  /** Whether the guest should see a volatile write cache (cache.writeback=on, or as the guest last set it). */
  readonly writeCacheEnabled: boolean;
  /**
   * blk_set_enable_write_cache: the guest turned the write cache on or off (virtio-blk's
   * writeback config byte, a SCSI MODE SELECT of the caching page). With it off every write
   * reaches the layers below as FUA (blk_co_pwritev_part), whatever the device asked.
   */
  setWriteCacheEnabled(on: boolean): void;
  readonly readOnly: boolean;
  /** blk_get_on_error(): the drive's policy for failed reads or writes (absent: -drive's defaults). */
  onError?(isRead: boolean): BlockdevOnError;

  read(offset: number, bytes: number, cb: BlockCallback<Uint8Array>): void;
  /**
   * `data` may be a view of guest memory (zero-copy, as QEMU's iovecs map guest RAM): the
   * backend takes what it needs from it before returning and never keeps a reference.
   */
  write(offset: number, data: Uint8Array, flags: WriteFlags, cb: BlockCallback): void;
  /**
   * blk_aio_pwritev with several pieces (a merged request): `write` of the pieces' bytes in
   * order, without gathering them first where the graph can take them as they are. The same
   * rule about keeping references holds for every piece. Optional: callers gather and
   * `write` when a backend lacks it.
   */
  writev?(offset: number, data: IoVec, flags: WriteFlags, cb: BlockCallback): void;
  flush(cb: BlockCallback): void;
  discard(offset: number, bytes: number, cb: BlockCallback): void;
  writeZeroes(offset: number, bytes: number, flags: { mayUnmap: boolean }, cb: BlockCallback): void;
}
