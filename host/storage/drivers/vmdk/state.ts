/**
 * A vmdk node's state (QEMU's BDRVVmdkState): the extents in disk order, the descriptor's
 * CIDs, the backing node, and what the model adds: after a power cut the extents' tables
 * are read again from what the files kept.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import type { BlockDriverState } from '../../node.js';
import { descriptorText, nextCid, withCid } from './descriptor.js';
import type { Extent } from './extent.js';
import { SECTOR } from './header.js';
import { DESC_SIZE, openSparse } from './open.js';

export interface VmdkState {
  readonly nodeName: string;
  /** The image file: the monolithic sparse file or the descriptor file. */
  readonly file: BlockDriverState;
  extents: Extent[];
  readonly createType: string;
  readonly descOffset: number;
  cid: number;
  readonly parentCid: number;
  readonly parentHint: string | undefined;
  readonly backing: BlockDriverState | undefined;
  readonly length: number;
  readonly writable: boolean;
  cidUpdated: boolean;
  cidChecked: boolean;
  stale: boolean;
}

/** The extent holding guest byte `offset` (which the generic layer keeps inside the disk). */
export function findExtent(s: VmdkState, offset: number): Extent | undefined {
  for (const e of s.extents) if (offset < e.start + e.sectors * SECTOR) return e;
  return undefined;
}

/** Re-read every sparse extent's tables after a power cut. */
export function fresh(s: VmdkState): BlockIoError | null {
  if (!s.stale) return null;
  const next: Extent[] = [];
  for (const e of s.extents) {
    if (!e.sparse) {
      next.push(e);
      continue;
    }
    const r = openSparse(e.file, e.start, e.type, s.writable);
    if (typeof r === 'string') return { errno: 'EIO', message: `${s.nodeName}: ${r}` };
    next.push(r);
  }
  s.extents = next;
  s.stale = false;
  return null;
}

/** vmdk_is_cid_valid: the backing image must still be the one this image was made over. */
export function cidValid(s: VmdkState): boolean {
  if (s.cidChecked || !s.backing) return true;
  const b = s.backing;
  if (b.drv.formatName !== 'vmdk' || (b.opaque as VmdkState).cid !== s.parentCid) return false;
  s.cidChecked = true;
  return true;
}

/** vmdk_write_cid: the first write after each open gives the image a new CID, written and flushed. */
export function updateCid(s: VmdkState, acct: IoAcct): BlockIoError | null {
  if (s.cidUpdated) return null;
  const size = s.descOffset ? DESC_SIZE : s.file.getLength();
  if (size > 16 << 20) return { errno: 'EIO', message: `${s.nodeName}: VMDK description file too big` };
  const buf = new Uint8Array(size);
  const r = s.file.preadv(s.descOffset, buf, acct);
  if (r) return r;
  const cid = nextCid(s.cid);
  const text = withCid(descriptorText(buf.subarray(0, size - 1)), cid);
  if (text === undefined) return { errno: 'EINVAL', message: `${s.nodeName}: VMDK descriptor has no parentCID` };
  const out = new Uint8Array(size);
  out.set(Buffer.from(text, 'latin1').subarray(0, size - 1));
  const w = s.file.pwritev(s.descOffset, out, {}, acct) ?? s.file.flush(acct);
  if (w) return w;
  s.cid = cid;
  s.cidUpdated = true;
  return null;
}
