/**
 * A request-queue chain as a command (QEMU's VirtIOSCSIReq with its VirtIOSCSICmdReq):
 * virtio_scsi_parse_req(req_size = 19 + cdb_size, resp_size = 12 + sense_size), by the
 * rules request.ts states, into a `CmdSlot` the HBA reuses.
 *
 * The header is read where the guest left it when its req_size bytes lie in the first
 * readable buffer and in one page (a driver's header is one small buffer: it always does),
 * else copied into the HBA's scratch buffer (as iov_to_buf gathers it); either way the bytes
 * are the ones QEMU copies into req->req. A slot's response, data-out and data-in lists are
 * its own arrays, filled again for each command; the descriptors in them are the popped
 * element's, cut only where a list starts or ends inside one.
 */
import type { GuestMemory, SgElem } from '../../../hw/memory.js';
import { pageOffset } from '../../../hw/virtio/scsi-req.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import { sgReadPrefix } from '../virtio-blk/sg.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import { MSG_BAD_HEADERS, type HbaReq, type XferMode } from './request.js';
import type { HbaState } from './state.js';

const NO_BYTES = new Uint8Array(0);
/** No data buffers (a command without data). */
const NO_SG: readonly SgElem[] = Object.freeze([]);

/**
 * A command's request. Filled by parseCmdReq for each chain the HBA pops; once the command
 * is answered and its bus request freed, the HBA keeps it for a later chain (cmd.ts).
 */
export class CmdSlot implements HbaReq {
  vq!: DeviceVirtqueue;
  elem!: VirtqElement;
  gen = 0;
  hdr: Uint8Array = NO_BYTES;
  hdrAt = 0;
  resp: readonly SgElem[] = [];
  respSize = 0;
  dataOut: readonly SgElem[] = [];
  dataIn: readonly SgElem[] = [];
  dataBytes = 0;
  mode: XferMode = 'none';
  bidirectional = false;
  mem!: GuestMemory;
  sg: readonly SgElem[] = [];
  sreq: ScsiRequest | undefined = undefined;
  tagLo = 0;
  tagHi = 0;
  reset = false;
  /** The arrays `resp`, `dataOut` and `dataIn` are, when they are not the element's own lists. */
  readonly respList: SgElem[] = [];
  readonly outList: SgElem[] = [];
  readonly inList: SgElem[] = [];
}

/**
 * The first `n` bytes of `sg` (qemu_iovec_concat_iov of a prefix) in `out`; assumes `sg`
 * holds them. `sg` itself when they are all of it (never written to).
 */
function takeInto(sg: readonly SgElem[], n: number, out: SgElem[]): readonly SgElem[] {
  if (sg.length === 1 && sg[0].len === n) return sg;
  let k = 0;
  let left = n;
  for (let i = 0; i < sg.length && left > 0; i++) {
    const e = sg[i];
    out[k++] = e.len <= left ? e : { addr: e.addr, len: left };
    left -= Math.min(e.len, left);
  }
  if (out.length !== k) out.length = k;
  return out;
}

/** The list after its first `n` bytes (iov_discard_front) in `out`; empty elements are dropped. */
function dropFrontInto(sg: readonly SgElem[], n: number, out: SgElem[]): readonly SgElem[] {
  let k = 0;
  let skip = n;
  for (let i = 0; i < sg.length; i++) {
    const e = sg[i];
    if (skip >= e.len) {
      skip -= e.len;
      continue;
    }
    out[k++] = skip > 0 ? { addr: e.addr + skip, len: e.len - skip } : e;
    skip = 0;
  }
  if (out.length !== k) out.length = k;
  return out;
}

function total(sg: readonly SgElem[]): number {
  let n = 0;
  for (let i = 0; i < sg.length; i++) n += sg[i].len;
  return n;
}

/**
 * virtio_scsi_parse_req of a command chain into `c`; a string is the reason it is a broken
 * request (virtio_scsi_bad_req). `scratch` (exactly req_size bytes) takes the header when it
 * cannot be read in place.
 */
export function parseCmdReq(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement, reqSize: number, respSize: number, c: CmdSlot, scratch: Uint8Array): string | undefined {
  const mem = vq.mem;
  const out = elem.out;
  const inn = elem.in;
  const first = out[0];
  const page = first !== undefined && first.len >= reqSize ? mem.pageForRead(first.addr, reqSize) : undefined;
  if (page !== undefined) {
    c.hdr = page;
    c.hdrAt = pageOffset(first.addr);
  } else {
    if (sgReadPrefix(mem, out, scratch) < reqSize) return MSG_BAD_HEADERS;
    c.hdr = scratch;
    c.hdrAt = 0;
  }
  if (total(inn) < respSize) return MSG_BAD_HEADERS;
  c.resp = takeInto(inn, respSize, c.respList);
  let outSkip = reqSize;
  let inSkip = respSize;
  if (!s.negotiated.anyLayout) {
    if (out.length > 0) outSkip = out[0].len;
    if (inn.length > 0) inSkip = inn[0].len;
  }
  const dataOut = dropFrontInto(out, outSkip, c.outList);
  const dataIn = dropFrontInto(inn, inSkip, c.inList);
  const outBytes = total(dataOut);
  const inBytes = total(dataIn);
  const mode: XferMode = outBytes > 0 ? 'to-dev' : inBytes > 0 ? 'from-dev' : 'none';
  c.vq = vq;
  c.elem = elem;
  c.gen = s.gen;
  c.respSize = respSize;
  c.dataOut = dataOut;
  c.dataIn = dataIn;
  c.dataBytes = outBytes + inBytes;
  c.mode = mode;
  c.bidirectional = outBytes > 0 && inBytes > 0;
  c.mem = mem;
  c.sg = mode === 'to-dev' ? dataOut : mode === 'from-dev' ? dataIn : c.inList;
  c.sreq = undefined;
  c.tagLo = 0;
  c.tagHi = 0;
  c.reset = false;
  return undefined;
}
