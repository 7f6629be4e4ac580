import { describe, expect, it } from 'vitest';
import { asciiVendorSpecificDesignator, naaDesignator, t10VendorIdDesignator, type Designator } from '../../hw/scsi/designators.js';
import { encodeVpdPage } from '../../hw/scsi/vpd.js';
import { replaceWhitespace, wwidFromPage80, wwidFromPage83 } from './wwid.js';

const page83 = (ds: Designator[]): Uint8Array => encodeVpdPage({ kind: 'device-identification', designators: ds });

describe('WWID from VPD page 0x83, as scsi_id gives it', () => {
  it("QEMU's scsi-hd without wwn: the drive id after vendor and product, type 0", () => {
    const p = page83([asciiVendorSpecificDesignator('drive-scsi0-0-0-0')]);
    expect(wwidFromPage83(p, 'QEMU', 'QEMU HARDDISK')).toBe('0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-0');
  });

  it('an NAA designator wins over the vendor-specific one, as hex after 3', () => {
    const p = page83([asciiVendorSpecificDesignator('serial1'), naaDesignator(0x5000c50015ea71acn)]);
    expect(wwidFromPage83(p, 'QEMU', 'QEMU HARDDISK')).toBe('35000c50015ea71ac');
  });

  it('a T10 vendor ID designator is type 1 text; target-port designators are ignored', () => {
    const port = naaDesignator(0x5000000000000001n, 1);
    expect(wwidFromPage83(page83([port, t10VendorIdDesignator('LIO-ORG', 'disk0')]), 'LIO-ORG', 'disk0')).toBe('1LIO-ORG_disk0');
    expect(wwidFromPage83(page83([port]), 'X', 'Y')).toBeUndefined();
  });

  it('takes pages of any shape: truncated, wrong page code, a descriptor past the end', () => {
    const p = page83([naaDesignator(1n)]);
    expect(wwidFromPage83(p.subarray(0, 7), 'a', 'b')).toBeUndefined();
    expect(wwidFromPage83(Uint8Array.of(0, 0x80, 0, 0), 'a', 'b')).toBeUndefined();
    const bad = p.slice();
    bad[7] = 200;
    expect(wwidFromPage83(bad, 'a', 'b')).toBeUndefined();
    expect(wwidFromPage83(new Uint8Array(0), 'a', 'b')).toBeUndefined();
  });
});

describe('WWID fallbacks', () => {
  it('page 0x80: S, vendor, product, serial', () => {
    const p = encodeVpdPage({ kind: 'unit-serial', serial: 'SN42' });
    expect(wwidFromPage80(p, 'QEMU', 'QEMU HARDDISK')).toBe('SQEMU_QEMU_HARDDISK_SN42');
    expect(wwidFromPage80(encodeVpdPage({ kind: 'unit-serial', serial: '   ' }), 'a', 'b')).toBeUndefined();
  });

  it('whitespace runs become one underscore, trailing whitespace goes', () => {
    expect(replaceWhitespace('a  b\t c   ')).toBe('a_b_c');
  });
});
