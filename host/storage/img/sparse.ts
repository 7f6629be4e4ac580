/**
 * qemu-img convert's sparse detection (is_allocated_sectors and is_allocated_sectors_min):
 * which sectors of a buffer hold data and which are zero runs long enough to skip, with
 * run ends aligned to the target's alignment so that writes stay aligned.
 */
import { BDRV_SECTOR_SIZE } from './image.js';

function sectorIsZero(buf: Uint8Array, sector: number): boolean {
  const end = Math.min(buf.length, (sector + 1) * BDRV_SECTOR_SIZE);
  for (let i = sector * BDRV_SECTOR_SIZE; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * The run at the start of `buf` (sectors [first, first + n) of it, at image sector
 * `sectorNum`): whether it holds data, and how many sectors long it is. A zero run ending
 * off `alignment` is shortened to the boundary, or, when it is shorter than that, taken as
 * data; a data run is extended to the boundary.
 */
export function allocatedRun(buf: Uint8Array, first: number, n: number, sectorNum: number, alignment: number): { data: boolean; sectors: number } {
  if (n <= 0) return { data: false, sectors: 0 };
  let isZero = sectorIsZero(buf, first);
  let i = 1;
  while (i < n && sectorIsZero(buf, first + i) === isZero) i++;
  const tail = (sectorNum + i) % alignment;
  if (tail) {
    if (isZero && i <= tail) isZero = false;
    if (!isZero) i = Math.min(i + alignment - tail, n);
    else i -= tail;
  }
  return { data: !isZero, sectors: i };
}

/**
 * is_allocated_sectors_min: like allocatedRun, but a data run swallows zero runs shorter
 * than `min` sectors that are followed by more data, so small holes do not split writes.
 */
export function allocatedRunMin(buf: Uint8Array, n: number, min: number, sectorNum: number, alignment: number): { data: boolean; sectors: number } {
  const floor = Math.min(min, n);
  const r = allocatedRun(buf, 0, n, sectorNum, alignment);
  if (!r.data) return r;
  let used = r.sectors;
  let checked = used;
  while (checked < n) {
    const next = allocatedRun(buf, checked, n - checked, sectorNum + checked, alignment);
    checked += next.sectors;
    if (next.data) used = checked;
    else if (next.sectors >= floor) break;
  }
  return { data: true, sectors: used };
}

/** pow2floor. */
export function pow2floor(n: number): number {
  if (n <= 0) return 0;
  return 2 ** Math.floor(Math.log2(n));
}
