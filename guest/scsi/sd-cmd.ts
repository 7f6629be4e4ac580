/**
 * sd's commands for block requests (drivers/scsi/sd.c sd_init_command and the
 * sd_setup_*_cmnd helpers, sd_done).
 *
 *   read / write   READ/WRITE(16) when the capacity needs it (use_16_for_rw) or more than
 *                  65535 blocks move; (10) otherwise (use_10_for_rw, Linux's default); (6)
 *                  only after a device refused (10). FUA when the disk has DPOFUA.
 *   flush          SYNCHRONIZE CACHE(10), twice the timeout
 *   discard        by provisioning mode: UNMAP with one block descriptor, WRITE SAME(16)
 *                  or (10) with UNMAP, or WRITE SAME of zeroes; none: BLK_STS_TARGET
 *   write-zeroes   WRITE SAME with UNMAP when unmapped blocks read as zeroes and the
 *                  request allows it, else plain WRITE SAME(10)/(16) of a zeroed block
 *
 * A request that is not aligned to the logical block or runs past the capacity fails
 * (BLK_STS_IOERR). sd_done turns an ILLEGAL REQUEST to UNMAP or WRITE SAME into "this
 * disk cannot": discard or write-zeroes is switched off for good.
 */
import { encodeCdb, type Cdb, type RwSize } from '../../hw/scsi/cdb.js';
import { READ_10, READ_16, UNMAP, WRITE_10, WRITE_16, WRITE_SAME_10, WRITE_SAME_16 } from '../../hw/scsi/opcodes.js';
import { ILLEGAL_REQUEST } from '../../hw/scsi/sense-codes.js';
import { encodeUnmapParameterList } from '../../hw/scsi/unmap.js';
import type { BlkRequest, BlkStatus } from '../blockdev/request.js';
import type { GuestKernel } from '../kernel/kernel.js';
import { SD_MAX_RETRIES, SD_TIMEOUT_MS, type ScsiCmnd } from './cmnd.js';
import { normalizeSense } from './disposition.js';
import type { ScsiUld, UldCommand } from './lib.js';
import type { ScsiDisk } from './sd-disk.js';

/** SD_FLUSH_TIMEOUT_MULTIPLIER. */
export const SD_FLUSH_TIMEOUT_MULTIPLIER = 2;

const rwFlags = { protect: 0, dpo: false, group: 0, control: 0 } as const;

/** The CDB size sd_setup_read_write_cmnd picks. */
export function rwSize(d: ScsiDisk, lba: number, blocks: number): RwSize {
  const s = d.sdev;
  if (s.use16ForRw || blocks > 0xffff) return 16;
  if (blocks > 0xff || lba > 0x1fffff || s.use10ForRw) return 10;
  return 6;
}

/**
 * READ/WRITE(10) or (16) as sd_setup_rw10_cmnd / sd_setup_rw16_cmnd fill them, byte by byte:
 * opcode, FUA in byte 1, the LBA and transfer length big-endian, group and control 0 (the
 * bytes encodeCdb gives for the same command, without building the command first).
 */
export function rwCdb(write: boolean, size: 10 | 16, lba: number, blocks: number, fua: boolean): Uint8Array {
  const b = new Uint8Array(size);
  fillRwCdb(b, write, size, lba, blocks, fua);
  return b;
}

/** rwCdb into `b` (exactly `size` bytes long, any contents): every byte is written. */
function fillRwCdb(b: Uint8Array, write: boolean, size: 10 | 16, lba: number, blocks: number, fua: boolean): void {
  b[1] = fua ? 0x08 : 0;
  if (size === 10) {
    b[0] = write ? WRITE_10 : READ_10;
    putBe32(b, 2, lba);
    b[6] = 0;
    b[7] = (blocks >>> 8) & 0xff;
    b[8] = blocks & 0xff;
    b[9] = 0;
  } else {
    b[0] = write ? WRITE_16 : READ_16;
    putBe32(b, 2, Math.floor(lba / 0x1_0000_0000));
    putBe32(b, 6, lba);
    putBe32(b, 10, blocks);
    b[14] = 0;
    b[15] = 0;
  }
}

/** The low 32 bits of `v` (a non-negative safe integer) big-endian at `at`. */
function putBe32(b: Uint8Array, at: number, v: number): void {
  const u = v >>> 0;
  b[at] = u >>> 24;
  b[at + 1] = (u >>> 16) & 0xff;
  b[at + 2] = (u >>> 8) & 0xff;
  b[at + 3] = u & 0xff;
}

/** A READ(6) / WRITE(6) command, made for its request (rare: small disks, or a device that refused the 10-byte ones). */
function rw6(rq: BlkRequest, cdb: Cdb, dir: UldCommand['direction']): UldCommand {
  return { cdb: encodeCdb(cdb), direction: dir, sg: rq.sg, allowed: SD_MAX_RETRIES, timeoutMs: SD_TIMEOUT_MS };
}

/** A tag's read/write command, rewritten for each request the tag carries. */
interface RwSlot {
  readonly u: UldCommand;
  readonly cdb10: Uint8Array;
  cdb16: Uint8Array | undefined;
}

export class SdCommands implements ScsiUld {
  /**
   * Read/write commands by hardware queue and tag: Linux builds a request's CDB in the
   * scsi_cmnd that lives in the request itself (blk_mq_rq_to_pdu), so a tag's command and
   * CDB are reused by the next request on that tag rather than made anew. A request holds
   * its tag until the midlayer ends it, and nothing reads its command after that.
   */
  private readonly rwByTag: (RwSlot | undefined)[][] = [];

  constructor(
    private readonly k: GuestKernel,
    private readonly d: ScsiDisk,
    /** Called when sd_done switches discard or write-zeroes off (the queue limits change). */
    private readonly limitsChanged: () => void,
  ) {}

  initCommand(rq: BlkRequest): UldCommand | BlkStatus {
    const d = this.d;
    const per = d.sectorSize / 512;
    if (rq.op === 'flush') return { cdb: encodeCdb({ op: 'SYNCHRONIZE_CACHE', size: 10, immed: false, lba: 0, numberOfBlocks: 0, group: 0, control: 0 }), direction: 'none', sg: [], allowed: SD_MAX_RETRIES, timeoutMs: SD_FLUSH_TIMEOUT_MULTIPLIER * SD_TIMEOUT_MS };
    if (rq.op === 'get-id') return 'notsupp';
    // 512-byte logical blocks (per 1) need no division.
    if ((per !== 1 && (rq.sector % per !== 0 || rq.sectors % per !== 0)) || rq.sector + rq.sectors > d.capacity * per) return 'ioerr';
    const lba = per === 1 ? rq.sector : rq.sector / per;
    const blocks = per === 1 ? rq.sectors : rq.sectors / per;
    switch (rq.op) {
      case 'read':
      case 'write': {
        const size = rwSize(d, lba, blocks);
        const fua = size !== 6 && rq.op === 'write' && rq.fua === true && d.dpofua;
        const dir = rq.op === 'read' ? 'from-device' : 'to-device';
        if (size === 10 || size === 16) return this.rw(rq, dir, size, lba, blocks, fua);
        if (rq.op === 'read') return rw6(rq, { op: 'READ', size, lba, transferLength: blocks, fua: false, rarc: false, ...rwFlags }, dir);
        return rw6(rq, { op: 'WRITE', size, lba, transferLength: blocks, fua, ...rwFlags }, dir);
      }
      case 'discard':
        switch (d.provisioningMode) {
          case 'unmap':
            return this.unmap(lba, blocks);
          case 'ws16':
            return this.writeSame(16, lba, blocks, true);
          case 'ws10':
            return this.writeSame(10, lba, blocks, true);
          case 'zero':
            return this.writeSame(lba > 0xffffffff || blocks > 0xffff ? 16 : 10, lba, blocks, false);
          default:
            return 'notsupp';
        }
      case 'write-zeroes':
        if (rq.unmap !== false && d.zeroingMode === 'ws16-unmap') return this.writeSame(16, lba, blocks, true);
        if (rq.unmap !== false && d.zeroingMode === 'ws10-unmap') return this.writeSame(10, lba, blocks, true);
        if (d.noWriteSame) return 'notsupp';
        return this.writeSame(lba > 0xffffffff || blocks > 0xffff ? 16 : 10, lba, blocks, false);
    }
  }

  /** sd_setup_read_write_cmnd with a 10- or 16-byte CDB, in the tag's own command. */
  private rw(rq: BlkRequest, dir: UldCommand['direction'], size: 10 | 16, lba: number, blocks: number, fua: boolean): UldCommand {
    const q = (this.rwByTag[rq.hwq] ??= []);
    let slot = q[rq.tag];
    if (slot === undefined) {
      const cdb10 = new Uint8Array(10);
      slot = q[rq.tag] = { u: { cdb: cdb10, direction: dir, sg: rq.sg, allowed: SD_MAX_RETRIES, timeoutMs: SD_TIMEOUT_MS, payload: undefined }, cdb10, cdb16: undefined };
    }
    const cdb = size === 10 ? slot.cdb10 : (slot.cdb16 ??= new Uint8Array(16));
    fillRwCdb(cdb, rq.op === 'write', size, lba, blocks, fua);
    const u = slot.u;
    u.cdb = cdb;
    u.direction = dir;
    u.sg = rq.sg;
    u.allowed = SD_MAX_RETRIES;
    u.timeoutMs = SD_TIMEOUT_MS;
    return u;
  }

  /** sd_setup_unmap_cmnd: UNMAP(10) with one block descriptor. */
  private unmap(lba: number, blocks: number): UldCommand {
    const param = encodeUnmapParameterList([{ lba, numberOfBlocks: blocks }]);
    const addr = this.k.alloc.alloc(param.length, 8);
    this.k.mem.write(addr, param);
    return {
      cdb: encodeCdb({ op: 'UNMAP', anchor: false, group: 0, parameterListLength: param.length, control: 0 }),
      direction: 'to-device',
      sg: [{ addr, len: param.length }],
      allowed: SD_MAX_RETRIES,
      timeoutMs: SD_TIMEOUT_MS,
      payload: { addr, len: param.length, align: 8 },
    };
  }

  /** sd_setup_write_same16_cmnd / _10: one zeroed logical block, repeated. */
  private writeSame(size: 10 | 16, lba: number, blocks: number, unmap: boolean): UldCommand {
    const len = this.d.sectorSize;
    const addr = this.k.alloc.alloc(len, 512);
    this.k.mem.fill(addr, len);
    return {
      cdb: encodeCdb({ op: 'WRITE_SAME', size, protect: 0, anchor: false, unmap, ndob: false, lba, numberOfBlocks: blocks, group: 0, control: 0 }),
      direction: 'to-device',
      sg: [{ addr, len }],
      allowed: SD_MAX_RETRIES,
      timeoutMs: SD_TIMEOUT_MS,
      payload: { addr, len, align: 512 },
    };
  }

  uninitCommand(u: UldCommand): void {
    if (u.payload) this.k.alloc.free(u.payload.addr, u.payload.len, u.payload.align);
  }

  /** sd_done: an ILLEGAL REQUEST to UNMAP or WRITE SAME switches the feature off. */
  done(cmd: ScsiCmnd): void {
    const h = normalizeSense(cmd.sense);
    if (h?.key !== ILLEGAL_REQUEST || (h.asc !== 0x20 && h.asc !== 0x24)) return;
    const op = cmd.cdb[0];
    if (op === UNMAP || ((op === WRITE_SAME_16 || op === WRITE_SAME_10) && (cmd.cdb[1] & 0x08) !== 0)) {
      this.d.provisioningMode = 'disable';
      this.limitsChanged();
    } else if (op === WRITE_SAME_16 || op === WRITE_SAME_10) {
      this.d.noWriteSame = true;
      this.d.maxWsBlocks = 0;
      this.limitsChanged();
    }
  }
}
