/**
 * Request merging (QEMU's MultiReqBuffer, virtio_blk_submit_multireq and submit_requests).
 *
 * Reads and writes popped in one handler run collect in a buffer of up to
 * VIRTIO_BLK_MAX_MERGE_REQS requests of one direction. When it is submitted (full, the
 * direction changes, a FLUSH follows writes, merging is off, or the run ends) the requests
 * are sorted by sector and each run of contiguous ones becomes one backend request, within
 * the backend's max transfer and max iov. Every original request still completes with its
 * own status and used entry when the merged one calls back.
 */
import { PAGE_SIZE, type GuestMemory, type SgElem } from '../../../hw/memory.js';
import type { WriteFlags } from '../../storage/block-backend-api.js';
import type { BlkReq } from './request.js';
import { sgGatherInto } from './sg.js';
import type { BlkState } from './state.js';

/** include/hw/virtio/virtio-blk.h */
export const VIRTIO_BLK_MAX_MERGE_REQS = 32;
/** IOV_MAX: blk_get_max_iov() of a host file. */
export const IOV_MAX = 1024;
/** blk_get_max_transfer() with no driver limit: INT_MAX rounded down to the request alignment. */
export const DEFAULT_MAX_TRANSFER = 0x7ffffe00;

export interface MultiReqBuffer {
  reqs: BlkReq[];
  isWrite: boolean;
}

export function newMultiReqBuffer(): MultiReqBuffer {
  return { reqs: [], isWrite: false };
}

/**
 * Sort by sector in place, stably (the order Array.prototype.sort gives): an insertion
 * sort, which for the ≤ VIRTIO_BLK_MAX_MERGE_REQS requests of one buffer is quick and,
 * unlike sort(), allocates nothing.
 */
function sortBySector(reqs: BlkReq[]): void {
  for (let i = 1; i < reqs.length; i++) {
    const r = reqs[i];
    let j = i - 1;
    for (; j >= 0 && reqs[j].sector > r.sector; j--) reqs[j + 1] = reqs[j];
    reqs[j + 1] = r;
  }
}

/** Submit everything in `mrb`, merged where QEMU would merge, and empty it. */
export function submitMultireq(s: BlkState, mrb: MultiReqBuffer): void {
  const reqs = mrb.reqs;
  mrb.reqs = [];
  if (reqs.length === 0) return;
  if (reqs.length === 1) {
    submitRequests(s, reqs, 0, 1, mrb.isWrite);
    return;
  }
  sortBySector(reqs);
  let start = 0;
  let sector = 0;
  let bytes = 0;
  let niov = 0;
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i];
    if (i > start) {
      // Not sequential, too many buffers, or too large: submit what we have.
      if (sector + bytes / 512 !== r.sector || niov > s.maxIov - r.sg.length || r.bytes > s.maxTransfer || bytes > s.maxTransfer - r.bytes) {
        submitRequests(s, reqs, start, i, mrb.isWrite);
        start = i;
      }
    }
    if (i === start) {
      sector = r.sector;
      bytes = 0;
      niov = 0;
    }
    bytes += r.bytes;
    niov += r.sg.length;
  }
  submitRequests(s, reqs, start, reqs.length, mrb.isWrite);
}

/** virtio-blk asks for no FUA: the drive adds it while the guest has the write cache off (BlockBackend). */
const CACHED: WriteFlags = { fua: false };

/**
 * The bytes of one guest buffer as the block layer is handed them, appended to `parts`:
 * each whole page it covers is lent (the backend may keep it; the guest's next write to it
 * goes to a copy) — a buffer of several physically contiguous pages, as Linux's
 * blk_rq_map_sg makes of a page-cache run, is lent page by page — and anything else is a
 * view of guest memory (or a copy when it crosses a page) that the backend copies.
 */
function pushGuestBytes(parts: Uint8Array[], mem: GuestMemory, e: SgElem): void {
  let addr = e.addr;
  const end = e.addr + e.len;
  if (addr % PAGE_SIZE === 0) {
    for (; end - addr >= PAGE_SIZE; addr += PAGE_SIZE) {
      const page = mem.lendPage(addr);
      if (page === undefined) break;
      parts.push(page);
    }
  }
  if (addr < end) parts.push(mem.view(addr, end - addr));
}

/** The one piece a single-buffer request is handed as, when it is at most a page. */
function guestBytes(mem: GuestMemory, e: SgElem): Uint8Array {
  return (e.len === PAGE_SIZE ? mem.lendPage(e.addr) : undefined) ?? mem.view(e.addr, e.len);
}

/** blk_aio_pwritev / blk_aio_preadv of one (possibly merged) request: `all[from, to)`. */
function submitRequests(s: BlkState, all: readonly BlkReq[], from: number, to: number, isWrite: boolean): void {
  const io = s.completer.io();
  const reqs = io.reqs;
  for (let i = from; i < to; i++) reqs.push(all[i]);
  const first = reqs[0];
  const offset = first.sector * 512;
  let total = 0;
  for (let i = 0; i < reqs.length; i++) total += reqs[i].bytes;
  s.inFlight += reqs.length;
  if (!isWrite) {
    s.backend.read(offset, total, io.cb);
    return;
  }
  if (total > 0) s.sim.advance(s.copyByteNs * total);
  if (reqs.length === 1 && first.sg.length === 1 && first.sg[0].len <= PAGE_SIZE) {
    s.backend.write(offset, guestBytes(first.vq.mem, first.sg[0]), CACHED, io.cb);
    return;
  }
  if (s.backend.writev !== undefined) {
    // Several pages: the guest's pages as they lie (QEMU's iovec of mapped guest memory).
    const parts: Uint8Array[] = [];
    for (let i = 0; i < reqs.length; i++) for (const e of reqs[i].sg) pushGuestBytes(parts, reqs[i].vq.mem, e);
    s.backend.writev(offset, { parts, bytes: total }, CACHED, io.cb);
    return;
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < reqs.length; i++) {
    sgGatherInto(reqs[i].vq.mem, reqs[i].sg, data, at);
    at += reqs[i].bytes;
  }
  s.backend.write(offset, data, CACHED, io.cb);
}
