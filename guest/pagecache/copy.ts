/**
 * Copies between page-cache pages and user buffers (copy_page_to_iter /
 * copy_page_from_iter): a user buffer is a contiguous guest-physical address or a
 * scatter-gather list, addressed by a byte offset into it.
 */
import { PAGE_SIZE, type GuestMemory } from '../../hw/memory.js';
import type { UserBuf } from './types.js';

/** Call `fn(addr, len, done)` for each piece of `buf` covering [off, off + n). */
function pieces(buf: UserBuf, off: number, n: number, fn: (addr: number, len: number, done: number) => void): void {
  if (typeof buf === 'number') {
    fn(buf + off, n, 0);
    return;
  }
  let skip = off;
  let done = 0;
  for (const e of buf) {
    if (done >= n) break;
    if (skip >= e.len) {
      skip -= e.len;
      continue;
    }
    const len = Math.min(e.len - skip, n - done);
    fn(e.addr + skip, len, done);
    done += len;
    skip = 0;
  }
  if (done < n) throw new Error(`pagecache: user buffer too short (${n} bytes at offset ${off})`);
}

/** Copy `n` bytes from guest `src` (inside one page) to the user buffer at offset `off`. */
export function copyToUser(mem: GuestMemory, dst: UserBuf, off: number, src: number, n: number): void {
  const bytes = mem.view(src, n);
  pieces(dst, off, n, (addr, len, done) => mem.write(addr, bytes.subarray(done, done + len)));
}

/** Copy `n` bytes from the user buffer at offset `off` to guest `dst` (inside one page). */
export function copyFromUser(mem: GuestMemory, src: UserBuf, off: number, dst: number, n: number): void {
  if (typeof src === 'number') return copyGuest(mem, src + off, dst, n);
  pieces(src, off, n, (addr, len, done) => copyGuest(mem, addr, dst + done, len));
}

/** Copy `n` bytes from guest `src` to guest `dst` (inside one page), without an intermediate buffer when `src` lies in one page. */
function copyGuest(mem: GuestMemory, src: number, dst: number, n: number): void {
  if (n === PAGE_SIZE && src % PAGE_SIZE === 0 && dst % PAGE_SIZE === 0) {
    // A whole page to a whole page: no views at all, and the target page need not be cleared (or copied, if lent) first.
    mem.pageForOverwrite(dst).set(mem.pageForRead(src, n) as Uint8Array);
    return;
  }
  mem.write(dst, mem.view(src, n));
}

/** True when `buf` holds `len` bytes, all inside guest RAM (else the caller gets EFAULT). */
export function userBufValid(mem: GuestMemory, buf: UserBuf, len: number): boolean {
  if (typeof buf === 'number') return mem.contains(buf, len);
  let n = 0;
  for (const e of buf) {
    if (!mem.contains(e.addr, e.len)) return false;
    n += e.len;
  }
  return n >= len;
}
