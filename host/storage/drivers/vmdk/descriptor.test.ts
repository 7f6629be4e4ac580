import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  descriptorCid,
  descriptorValue,
  formatDescriptor,
  parentFileNameHint,
  parseExtentLines,
  probeDescriptor,
  withCid,
} from './descriptor.js';

/** What `qemu-img create -f vmdk -o subformat=twoGbMaxExtentSparse x.vmdk 3G` (7.2) wrote, CID aside. */
const QEMU_TWOGB = `# Disk DescriptorFile
version=1
CID=da419717
parentCID=ffffffff
createType="twoGbMaxExtentSparse"

# Extent description
RW 4194304 SPARSE "twoGbMaxExtentSparse-s001.vmdk"
RW 2097152 SPARSE "twoGbMaxExtentSparse-s002.vmdk"

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "6241"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
ddb.toolsVersion = "2147483647"
`;

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('VMDK descriptor', () => {
  it('is formatted exactly as qemu-img 7.2 formats it', () => {
    const text = formatDescriptor({
      cid: 0xda419717,
      parentCid: 0xffffffff,
      createType: 'twoGbMaxExtentSparse',
      extentLines: 'RW 4194304 SPARSE "twoGbMaxExtentSparse-s001.vmdk"\nRW 2097152 SPARSE "twoGbMaxExtentSparse-s002.vmdk"\n',
      hwVersion: '4',
      sizeBytes: 3 * 2 ** 30,
      adapterType: 'ide',
      toolsVersion: '2147483647',
    });
    expect(text).toBe(QEMU_TWOGB);
  });

  it('puts a parentFileNameHint right before the extent list (no blank line, as 7.2 does) and uses 255 heads for SCSI adapters', () => {
    const text = formatDescriptor({ cid: 1, parentCid: 2, createType: 'monolithicSparse', parentFileNameHint: 'a.vmdk', extentLines: '', hwVersion: '6', sizeBytes: 1 << 30, adapterType: 'lsilogic', toolsVersion: '1' });
    expect(text).toContain('createType="monolithicSparse"\nparentFileNameHint="a.vmdk"\n# Extent description\n');
    expect(text).toContain('ddb.geometry.heads = "255"');
    expect(text).toContain('ddb.geometry.cylinders = "130"');
  });

  it('reads the values QEMU reads: createType, CID, parentCID, parentFileNameHint', () => {
    expect(descriptorValue(QEMU_TWOGB, 'createType')).toBe('twoGbMaxExtentSparse');
    expect(descriptorCid(QEMU_TWOGB, false)).toBe(0xda419717);
    expect(descriptorCid(QEMU_TWOGB, true)).toBe(0xffffffff);
    expect(parentFileNameHint(QEMU_TWOGB)).toBeUndefined();
    expect(parentFileNameHint('parentFileNameHint="../b.vmdk"\n')).toBe('../b.vmdk');
    expect(parentFileNameHint('parentFileNameHint="b.vmdk\n')).toEqual({ error: 'Invalid parentFileNameHint in VMDK descriptor: no closing quote' });
  });

  it('parses RW extent lines and skips the rest, as vmdk_parse_extents does', () => {
    expect(parseExtentLines(QEMU_TWOGB)).toEqual([
      { sectors: 4194304, type: 'SPARSE', filename: 'twoGbMaxExtentSparse-s001.vmdk', flatOffset: 0 },
      { sectors: 2097152, type: 'SPARSE', filename: 'twoGbMaxExtentSparse-s002.vmdk', flatOffset: 0 },
    ]);
    const text = 'RW 100 FLAT "a b.img" 7\r\nRDONLY 5 FLAT "c" 0\nRW 0 SPARSE "d"\nRW 5 ZERO "e"\nRW 8 VMFS "v"\n';
    expect(parseExtentLines(text)).toEqual([
      { sectors: 100, type: 'FLAT', filename: 'a b.img', flatOffset: 7 },
      { sectors: 8, type: 'VMFS', filename: 'v', flatOffset: 0 },
    ]);
  });

  it('names a malformed extent line', () => {
    expect(parseExtentLines('RW 100 FLAT "a.img"\n')).toEqual({ error: 'Invalid extent line: RW 100 FLAT "a.img"' });
    expect(parseExtentLines('RW 100 FLAT "a.img" -1\n')).toEqual({ error: 'Invalid extent line: RW 100 FLAT "a.img" -1' });
    expect(parseExtentLines('RW 100 SPARSE "a.img" 3\n')).toEqual({ error: 'Invalid extent line: RW 100 SPARSE "a.img" 3' });
    expect(parseExtentLines('RW 100 VMFS "a.img" 0\n')).toEqual({ error: 'Invalid extent line: RW 100 VMFS "a.img" 0' });
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(() => parseExtentLines(s)).not.toThrow();
        expect(() => descriptorCid(s, true)).not.toThrow();
        expect(() => probeDescriptor(bytes(s))).not.toThrow();
      }),
    );
  });

  it('is probed as vmdk_probe does: comments and blank lines, then version=1|2|3', () => {
    expect(probeDescriptor(bytes(QEMU_TWOGB))).toBe(true);
    expect(probeDescriptor(bytes('# x\n   \r\nversion=3\r\n'))).toBe(true);
    expect(probeDescriptor(bytes('version=4\n'))).toBe(false);
    expect(probeDescriptor(bytes('  x\nversion=1\n'))).toBe(false);
    expect(probeDescriptor(bytes('hello'))).toBe(false);
  });

  it('rewrites the CID as vmdk_write_cid does, keeping everything from parentCID on', () => {
    const out = withCid(QEMU_TWOGB, 0x1234abcd)!;
    expect(out).toBe(QEMU_TWOGB.replace('CID=da419717', 'CID=1234abcd'));
    expect(withCid('CID=1\n', 2)).toBeUndefined();
  });
});
