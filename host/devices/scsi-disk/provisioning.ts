/**
 * UNMAP and WRITE SAME(10/16) (QEMU hw/scsi/scsi-disk.c scsi_disk_emulate_unmap,
 * scsi_unmap_complete_noio, scsi_disk_emulate_write_same, scsi_write_same_complete),
 * run once the parameter data / the one data block has arrived.
 *
 * UNMAP parameter list (SBC-3 §5.28): be16 data length, be16 block descriptor data length
 * (a multiple of 16), 4 reserved, then 16-byte descriptors {be64 LBA, be32 blocks, 4
 * reserved}, discarded one after another; a descriptor out of range stops the list with
 * LBA OUT OF RANGE (earlier ones stay done).
 *
 * WRITE SAME: an all-zero block becomes a write-zeroes request (may-unmap when the UNMAP
 * bit is set, and the drive's discard=unmap allows it); any other block is replicated
 * into a buffer of at most 512 KiB and written piece by piece.
 */
import { get16, get32 } from '../../../hw/scsi/bytes.js';
import { SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import { dataCdbXfer } from '../scsi-bus/cdb.js';
import { SENSE } from '../scsi-bus/defs.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { ReqIo } from './io.js';
import { lbaRangeOk, writable, type ScsiDiskState } from './state.js';

/** SCSI_WRITE_SAME_MAX. */
export const SCSI_WRITE_SAME_MAX = 512 * 1024;

export function emulateUnmap(s: ScsiDiskState, req: ScsiRequest, io: ReqIo, p: Uint8Array): void {
  const len = p.length;
  if (req.cmd.buf[1] & 0x1) return req.checkCondition(SENSE.INVALID_FIELD); // ANCHOR
  if (len < 8 || len < get16(p, 0) + 2 || len < get16(p, 2) + 8 || get16(p, 2) & 15) return req.checkCondition(SENSE.INVALID_PARAM_LEN);
  if (!writable(s)) return req.checkCondition(SENSE.WRITE_PROTECTED);
  const count = get16(p, 2) >> 4;
  const bs = s.blocksize;
  const next = (i: number): void => {
    if (i >= count) return req.complete(SAM_STAT_GOOD);
    const at = 8 + 16 * i;
    const lba = get32(p, at) * 0x1_0000_0000 + get32(p, at + 4);
    const blocks = get32(p, at + 8);
    if (!lbaRangeOk(s, lba, blocks)) return req.checkCondition(SENSE.LBA_OUT_OF_RANGE);
    if (blocks === 0) return next(i + 1);
    s.backend!.discard(lba * bs, blocks * bs, io.cb(() => next(i + 1)));
  };
  next(0);
}

export function emulateWriteSame(s: ScsiDiskState, req: ScsiRequest, io: ReqIo, block: Uint8Array): void {
  const cdb = req.cmd.buf;
  const blocks = dataCdbXfer(cdb);
  // WSNZ: 0 blocks is refused; so are PBDATA, LBDATA and ANCHOR.
  if (blocks === 0 || cdb[1] & 0x16) return req.checkCondition(SENSE.INVALID_FIELD);
  if (!writable(s)) return req.checkCondition(SENSE.WRITE_PROTECTED);
  if (!lbaRangeOk(s, req.cmd.lba, blocks)) return req.checkCondition(SENSE.LBA_OUT_OF_RANGE);
  const bs = s.blocksize;
  const pattern = new Uint8Array(bs);
  pattern.set(block.subarray(0, bs));
  const offset = req.cmd.lba * bs;
  const bytes = blocks * bs;
  if (cdb[1] & 0x1 || pattern.every((b) => b === 0)) {
    s.backend!.writeZeroes(offset, bytes, { mayUnmap: (cdb[1] & 0x8) !== 0 }, io.cb(() => req.complete(SAM_STAT_GOOD)));
    return;
  }
  const chunk = Math.min(bytes, SCSI_WRITE_SAME_MAX);
  const buf = new Uint8Array(chunk);
  for (let i = 0; i < chunk; i += bs) buf.set(pattern.subarray(0, Math.min(bs, chunk - i)), i);
  const step = (done: number): void => {
    if (done >= bytes) return req.complete(SAM_STAT_GOOD);
    const n = Math.min(chunk, bytes - done);
    // An ignored error carries on with the next piece, as QEMU's write-same loop does.
    s.backend!.write(offset + done, buf.subarray(0, n), { fua: !s.wce }, io.cb(() => step(done + n)));
  };
  step(0);
}
