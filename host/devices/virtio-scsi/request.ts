/**
 * What a chain on any of the three queues carries (QEMU's VirtIOSCSIReq and
 * virtio_scsi_parse_req): a device-readable request header, a device-writable response
 * header, and between and after them the data buffers (QEMU's qsgl).
 *
 * virtio_scsi_parse_req(req_size, resp_size):
 * - the first req_size readable bytes are the request (fewer: -EINVAL, a broken request);
 * - the first resp_size writable bytes are the response (fewer: -EINVAL);
 * - data-out is the readable bytes after req_size, data-in the writable bytes after
 *   resp_size — except without VIRTIO_F_ANY_LAYOUT, where the whole first readable and
 *   first writable buffer are skipped, whatever their lengths (the "old BIOSes" padding
 *   workaround; a modern driver never has ANY_LAYOUT, so this is what QEMU does for Linux);
 * - data in both directions is -ENOTSUP (no VIRTIO_SCSI_F_INOUT).
 *
 * Completing writes the response bytes into the response header's buffers and pushes the
 * element with qsgl.size + resp_size as the used length, as virtio_scsi_complete_req does.
 */
import { PAGE_SIZE, dmaScatter, type GuestMemory, type SgElem } from '../../../hw/memory.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import { sgDropFront, sgReadPrefix } from '../virtio-blk/sg.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import type { HbaState } from './state.js';

/** virtio_scsi_bad_req()'s virtio_error() message. */
export const MSG_BAD_HEADERS = 'wrong size for virtio-scsi headers';

export type XferMode = 'none' | 'to-dev' | 'from-dev';

export interface HbaReq {
  readonly vq: DeviceVirtqueue;
  readonly elem: VirtqElement;
  readonly gen: number;
  /**
   * The request header: req_size bytes at `hdrAt` in `hdr`. A command's are read where the
   * guest left them (its page) or, when they do not lie in one page, copied into the HBA's
   * scratch buffer; either way valid only while it is prepared (cmd.ts takes what it needs
   * later). A control or event request owns its own, at 0.
   */
  readonly hdr: Uint8Array;
  readonly hdrAt: number;
  /** The response header's buffers: exactly resp_size bytes. */
  readonly resp: readonly SgElem[];
  readonly respSize: number;
  readonly dataOut: readonly SgElem[];
  readonly dataIn: readonly SgElem[];
  /** qsgl.size: every data byte, both directions. */
  readonly dataBytes: number;
  readonly mode: XferMode;
  /** Data in both directions (-ENOTSUP). */
  readonly bidirectional: boolean;
  /**
   * The data buffer the way the command moves it (dataOut for 'to-dev', dataIn for
   * 'from-dev', else none), over guest memory: a command hands the request itself to the
   * bus as its ScsiData (QEMU's req->qsgl), rather than a new object per command.
   */
  readonly mem: GuestMemory;
  readonly sg: readonly SgElem[];
  /** A command's bus request (QEMU's VirtIOSCSIReq.sreq), set once the bus has it (cmd.ts). */
  sreq: ScsiRequest | undefined;
  /** A command's 64-bit tag from its header, low and high halves (cmd.ts cmdTag). */
  tagLo: number;
  tagHi: number;
  /** A command canceled by a reset (a TMF reset, a bus reset): it answers VIRTIO_SCSI_S_RESET. */
  reset: boolean;
}

/**
 * The first `n` bytes of `sg` (qemu_iovec_concat_iov of a prefix); assumes `sg` holds them.
 * When they are exactly the first element (the driver's response buffer), the list is that
 * element; when they are all of a one-element `sg`, `sg` itself (never written to).
 */
function sgTake(sg: readonly SgElem[], n: number): readonly SgElem[] {
  if (n > 0 && sg.length > 0 && sg[0].len === n) return sg.length === 1 ? sg : [sg[0]];
  const out: SgElem[] = [];
  let left = n;
  for (let i = 0; i < sg.length && left > 0; i++) {
    const len = Math.min(sg[i].len, left);
    out.push({ addr: sg[i].addr, len });
    left -= len;
  }
  return out;
}

/** No data buffers: shared, as nothing writes to a request's lists. */
const NO_SG: readonly SgElem[] = Object.freeze([]);

/** sgDropFront, sharing one empty list when nothing is left (a command without data, or a write's data-in). */
function dropFront(sg: readonly SgElem[], n: number): readonly SgElem[] {
  return sg.length === 0 || (sg.length === 1 && sg[0].len <= n) ? NO_SG : sgDropFront(sg, n);
}

const total = (sg: readonly SgElem[]): number => {
  let n = 0;
  for (let i = 0; i < sg.length; i++) n += sg[i].len;
  return n;
};

/**
 * virtio_scsi_parse_req for a control or event request, into a new request with a header
 * of its own. A string is the reason it is a broken request (virtio_scsi_bad_req).
 */
export function parseHbaReq(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement, reqSize: number, respSize: number): HbaReq | string {
  const hdr = new Uint8Array(reqSize);
  if (sgReadPrefix(vq.mem, elem.out, hdr) < reqSize) return MSG_BAD_HEADERS;
  if (total(elem.in) < respSize) return MSG_BAD_HEADERS;
  const resp = sgTake(elem.in, respSize);
  let outSkip = reqSize;
  let inSkip = respSize;
  if (!s.negotiated.anyLayout) {
    if (elem.out.length > 0) outSkip = elem.out[0].len;
    if (elem.in.length > 0) inSkip = elem.in[0].len;
  }
  const dataOut = dropFront(elem.out, outSkip);
  const dataIn = dropFront(elem.in, inSkip);
  const outBytes = total(dataOut);
  const inBytes = total(dataIn);
  const mode: XferMode = outBytes > 0 ? 'to-dev' : inBytes > 0 ? 'from-dev' : 'none';
  const sg = mode === 'to-dev' ? dataOut : mode === 'from-dev' ? dataIn : NO_SG;
  return { vq, elem, gen: s.gen, hdr, hdrAt: 0, resp, respSize, dataOut, dataIn, dataBytes: outBytes + inBytes, mode, bidirectional: outBytes > 0 && inBytes > 0, mem: vq.mem, sg, sreq: undefined, tagLo: 0, tagHi: 0, reset: false };
}

/**
 * virtio_scsi_complete_req: `bytes` into the response buffers, the element into the used
 * ring with qsgl.size + resp_size bytes, and the interrupt decision. Nothing reaches a queue
 * once the device was reset since the request was popped, or is broken.
 */
export function completeHbaReq(s: HbaState, req: HbaReq, bytes: Uint8Array): void {
  s.sim.advance(s.completeNs);
  if (req.gen !== s.gen || s.broken) return;
  if (bytes.length > 0) dmaScatter(req.vq.mem, req.resp, bytes);
  req.vq.push(req.elem, req.dataBytes + req.respSize);
  req.vq.notify();
}

/** A chain that never had its headers parsed (an unknown control type): pushed with nothing written. */
export function completeUnparsed(s: HbaState, vq: DeviceVirtqueue, elem: VirtqElement, gen: number): void {
  s.sim.advance(s.completeNs);
  if (gen !== s.gen || s.broken) return;
  vq.push(elem, 0);
  vq.notify();
}
