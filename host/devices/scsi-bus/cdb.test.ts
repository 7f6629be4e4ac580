/**
 * scsi_req_parse_cdb as the bus runs it: parseCdbInto fills a request's own command, and
 * READ/WRITE(10) (read off directly) give what the CDB codec of hw/scsi says they carry.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCdb as decodeCdb } from '../../../hw/scsi/cdb.js';
import { ScsiCommandBuf, parseCdb, parseCdbInto } from './cdb.js';
import { TYPE_DISK } from './defs.js';

describe('parseCdbInto', () => {
  it('READ/WRITE(10): the transfer in bytes, the direction and the LBA the CDB carries (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x28, 0x2a), fc.uint8Array({ minLength: 9, maxLength: 9 }), fc.constantFrom(512, 2048, 4096), (code, rest, blocksize) => {
        const cdb = Uint8Array.of(code, ...rest);
        const c = parseCdb({ type: TYPE_DISK, blocksize }, cdb)!;
        const d = decodeCdb(cdb);
        if (E.isLeft(d) || (d.right.op !== 'READ' && d.right.op !== 'WRITE')) throw new Error('the codec should decode READ/WRITE(10)');
        expect({ len: c.len, xfer: c.xfer, lba: c.lba, mode: c.mode }).toEqual({
          len: 10,
          xfer: d.right.transferLength * blocksize,
          lba: d.right.lba,
          mode: d.right.transferLength === 0 ? 'none' : code === 0x2a ? 'to-dev' : 'from-dev',
        });
        expect([...c.buf]).toEqual([...cdb, 0, 0, 0, 0, 0, 0]);
      }),
    );
  });

  it('a command used again takes nothing from the one before: an unparsable CDB leaves it empty', () => {
    const dev = { type: TYPE_DISK, blocksize: 512 };
    const c = new ScsiCommandBuf();
    const src = Uint8Array.of(0xff, 0xff, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0, 0, 0, 1, 0, 0, 0, 8, 0);
    expect(parseCdbInto(dev, src, 16, 10, c)).toBe(true);
    expect({ xfer: c.xfer, lba: c.lba, mode: c.mode }).toEqual({ xfer: 4096, lba: 256, mode: 'to-dev' });
    // Group 3 (reserved): no command; nothing of the WRITE(10) is left.
    expect(parseCdbInto(dev, Uint8Array.of(0x7e, 1, 2, 3), 0, 4, c)).toBe(false);
    expect({ len: c.len, xfer: c.xfer, lba: c.lba, mode: c.mode, zero: c.buf.every((b) => b === 0) }).toEqual({ len: 0, xfer: 0, lba: -1, mode: 'none', zero: true });
    // A 16-byte group in fewer bytes than it needs: none either.
    expect(parseCdbInto(dev, src, 2, 14, c)).toBe(false);
    // INQUIRY in the middle of a larger buffer, then shorter than a READ(10) before it.
    expect(parseCdbInto(dev, Uint8Array.of(9, 0x12, 0, 0, 0, 36, 0), 1, 6, c)).toBe(true);
    expect({ len: c.len, xfer: c.xfer, mode: c.mode, tail: [...c.buf.subarray(6)] }).toEqual({ len: 6, xfer: 36, mode: 'from-dev', tail: new Array(10).fill(0) });
  });
});
