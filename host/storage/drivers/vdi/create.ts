/**
 * qemu-img create -f vdi [-o static=on]: QEMU's vdi_co_do_create. A dynamic image is the
 * header and a block map of VDI_UNALLOCATED (0xffffffff) entries; a static one maps block i to data
 * block i and the file is extended to hold every block.
 *
 * QEMU fills the two UUIDs at random; the model derives them from the file name and size,
 * so that the same run makes the same image.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from '../../errors.js';
import type { CreateContext } from '../../image-api.js';
import type { BlockDriverState } from '../../node.js';
import { SECTOR_SIZE, VDI_DISK_SIZE_MAX, encodeVdiHeader, newVdiHeader } from './header.js';

/** Block-map bytes written at a time (the map of a large disk is never held whole). */
const BMAP_CHUNK = 1 << 20;

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'vdi', message });

/** FNV-1a over `text`, then a xorshift stream: 16 bytes that look like a UUID (version 4, RFC 4122 variant). */
export function derivedUuid(text: string): Uint8Array {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const u = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    u[i] = h & 0xff;
  }
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  // VirtualBox stores the first three fields little-endian.
  u.subarray(0, 4).reverse();
  u.subarray(4, 6).reverse();
  u.subarray(6, 8).reverse();
  return u;
}

function writeImage(bs: BlockDriverState, size: number, isStatic: boolean, name: string): string | null {
  const header = newVdiHeader(size, isStatic, derivedUuid(`${name}:${size}:image`), derivedUuid(`${name}:${size}:snap`));
  const blocks = header.blocksInImage;
  const acct = { ns: 0 };
  // The map first and the header last: a failed create leaves no VDI signature behind.
  const chunk = new Uint8Array(Math.min(BMAP_CHUNK, Math.ceil((blocks * 4) / SECTOR_SIZE) * SECTOR_SIZE));
  const dv = new DataView(chunk.buffer);
  const bmapBytes = header.offsetData - header.offsetBmap;
  for (let done = 0; done < bmapBytes; done += chunk.length) {
    const n = Math.min(chunk.length, bmapBytes - done);
    // Entries past the last block (the map's padding to a sector) are zero.
    const used = Math.max(0, Math.min(n, blocks * 4 - done));
    chunk.fill(0);
    if (!isStatic) chunk.fill(0xff, 0, used);
    else for (let i = 0; i < used / 4; i++) dv.setUint32(i * 4, done / 4 + i, true);
    const err = bs.pwritev(header.offsetBmap + done, chunk.subarray(0, n), {}, acct);
    if (err) return `Error writing bmap: ${err.message}`;
  }
  if (isStatic) {
    const err = bs.truncate(header.offsetData + blocks * header.blockSize);
    if (err) return `Failed to statically allocate file: ${err.message}`;
  }
  const err = bs.pwritev(0, encodeVdiHeader(header), {}, acct);
  return err ? `Error writing header: ${err.message}` : null;
}

export function createVdi(filename: string, size: number, isStatic: boolean, ctx: CreateContext): E.Either<BlockError, void> {
  const bytes = Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  if (BigInt(bytes) > VDI_DISK_SIZE_MAX) {
    return fail(`Unsupported VDI image size (size is 0x${bytes.toString(16)}, max supported is 0x${VDI_DISK_SIZE_MAX.toString(16)})`);
  }
  return E.flatMap(ctx.createFile(filename, 0), (bs) => {
    const err = writeImage(bs, bytes, isStatic, filename);
    bs.close();
    return err ? fail(err) : E.right(undefined);
  });
}
