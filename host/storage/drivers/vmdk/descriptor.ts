/**
 * The VMDK text descriptor: embedded in a sparse extent (at sector 1) or a file of its own
 * (monolithicFlat, twoGbMaxExtent*). Parsed the way QEMU's block/vmdk.c reads it:
 *
 *   # Disk DescriptorFile
 *   version=1
 *   CID=9fda47a9                          (hex; changes on the first write after each open)
 *   parentCID=ffffffff                    (the parent's CID, ffffffff without one)
 *   createType="monolithicSparse"
 *   parentFileNameHint="base.vmdk"        (linked clones: the backing image)
 *
 *   # Extent description
 *   RW 10240 SPARSE "a.vmdk"              (access, sectors, type, file[, start sector for FLAT])
 *
 *   # The Disk Data Base
 *   #DDB
 *   ddb.virtualHWVersion = "4"  ...
 *
 * As in QEMU, only RW extent lines count (others are skipped), and a line that starts like
 * an extent but is malformed is an error that quotes it. Unlike QEMU's sscanf, a line is
 * never read on into the next one.
 */

export type ExtentType = 'FLAT' | 'SPARSE' | 'VMFS' | 'VMFSSPARSE' | 'SESPARSE';

export interface ExtentLine {
  readonly sectors: number;
  readonly type: ExtentType;
  readonly filename: string;
  /** FLAT: the extent's first sector in its file. */
  readonly flatOffset: number;
}

const EXTENT_TYPES: readonly string[] = ['FLAT', 'SPARSE', 'VMFS', 'VMFSSPARSE', 'SESPARSE'];

/** The descriptor's text: bytes up to the first NUL, one char per byte (as C strings read it). */
export function descriptorText(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('latin1');
}

/** vmdk_parse_description: the quoted value after `name="`. */
export function descriptorValue(desc: string, name: string): string | undefined {
  const at = desc.indexOf(name);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  const end = desc.indexOf('"', start);
  return start > desc.length || end < 0 ? undefined : desc.slice(start, end);
}

/** vmdk_read_cid: the hex number after the first "CID=" (or "parentCID="). */
export function descriptorCid(desc: string, parent: boolean): number | undefined {
  const name = parent ? 'parentCID' : 'CID';
  const at = desc.indexOf(name);
  if (at < 0) return undefined;
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]{1,8})/.exec(desc.slice(at + name.length + 1));
  return m ? parseInt(m[1], 16) >>> 0 : undefined;
}

/** vmdk_parent_open: parentFileNameHint, or an error for an unterminated one. */
export function parentFileNameHint(desc: string): string | undefined | { error: string } {
  const at = desc.indexOf('parentFileNameHint');
  if (at < 0) return undefined;
  const start = at + 'parentFileNameHint'.length + 2;
  const end = desc.indexOf('"', start);
  if (end < 0) return { error: 'Invalid parentFileNameHint in VMDK descriptor: no closing quote' };
  if (end - start > 4095) return { error: 'Invalid parentFileNameHint in VMDK descriptor: file name too long' };
  return desc.slice(start, end);
}

/** A scanf-like reader over one line. */
class LineScanner {
  private pos = 0;
  constructor(private readonly s: string) {}

  private skipWs(): void {
    while (this.pos < this.s.length && /[ \t\v\f]/.test(this.s[this.pos])) this.pos++;
  }

  /** %10s */
  word(max: number): string | undefined {
    this.skipWs();
    const start = this.pos;
    while (this.pos < this.s.length && this.pos - start < max && !/\s/.test(this.s[this.pos])) this.pos++;
    return this.pos > start ? this.s.slice(start, this.pos) : undefined;
  }

  /** %lld */
  int(): number | undefined {
    this.skipWs();
    const m = /^[+-]?\d+/.exec(this.s.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** "%511[^\n\r\"]" — the closing quote is optional, as it is for sscanf's count. */
  quoted(max: number): string | undefined {
    this.skipWs();
    if (this.s[this.pos] !== '"') return undefined;
    const start = ++this.pos;
    while (this.pos < this.s.length && this.pos - start < max && !/[\n\r"]/.test(this.s[this.pos])) this.pos++;
    if (this.pos === start) return undefined;
    const v = this.s.slice(start, this.pos);
    if (this.s[this.pos] === '"') this.pos++;
    else this.pos = this.s.length;
    return v;
  }
}

/** vmdk_parse_extents: the RW extent lines, or the first malformed one. */
export function parseExtentLines(desc: string): ExtentLine[] | { error: string } {
  const out: ExtentLine[] = [];
  for (const raw of desc.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const sc = new LineScanner(line);
    const access = sc.word(10);
    const sectors = access === undefined ? undefined : sc.int();
    const type = sectors === undefined ? undefined : sc.word(10);
    const filename = type === undefined ? undefined : sc.quoted(511);
    if (access !== 'RW' || sectors === undefined || type === undefined || filename === undefined) continue;
    const offset = sc.int();
    const invalid = { error: `Invalid extent line: ${line}` };
    let flatOffset = 0;
    if (type === 'FLAT') {
      if (offset === undefined || offset < 0) return invalid;
      flatOffset = offset;
    } else if (offset !== undefined) {
      return invalid;
    }
    if (sectors <= 0 || !EXTENT_TYPES.includes(type)) continue;
    if (!Number.isSafeInteger(sectors) || !Number.isSafeInteger(flatOffset)) return invalid;
    out.push({ sectors, type: type as ExtentType, filename, flatOffset });
  }
  return out;
}

/** Create types QEMU opens from a descriptor file (vmdk_open_desc_file). */
export const DESCRIPTOR_FILE_TYPES: readonly string[] = ['monolithicFlat', 'vmfs', 'vmfsSparse', 'seSparse', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'];

/** vmdk_probe: a descriptor is comments and blank lines, then "version=1|2|3". */
export function probeDescriptor(b: Uint8Array): boolean {
  let p = 0;
  const end = b.length;
  const startsWith = (s: string) => p + s.length <= end && s.split('').every((c, i) => b[p + i] === c.charCodeAt(0));
  while (p < end) {
    if (b[p] === 0x23) {
      while (p < end && b[p] !== 0x0a) p++;
      p++;
      continue;
    }
    if (b[p] === 0x20) {
      while (p < end && b[p] === 0x20) p++;
      if (p < end && b[p] === 0x0d) p++;
      if (p === end || b[p] !== 0x0a) return false;
      p++;
      continue;
    }
    return ['1', '2', '3'].some((v) => startsWith(`version=${v}\n`) || startsWith(`version=${v}\r\n`));
  }
  return false;
}

export interface DescriptorParams {
  readonly cid: number;
  readonly parentCid: number;
  readonly createType: string;
  readonly parentFileNameHint?: string;
  /** "RW <sectors> SPARSE \"<file>\"" lines, each ending in "\n". */
  readonly extentLines: string;
  readonly hwVersion: string;
  readonly sizeBytes: number;
  readonly adapterType: string;
  readonly toolsVersion: string;
}

const hex = (n: number) => (n >>> 0).toString(16);

/** The descriptor QEMU 7.2's vmdk_co_do_create writes. */
export function formatDescriptor(p: DescriptorParams): string {
  const heads = p.adapterType === 'ide' ? 16 : 255;
  const cylinders = Math.floor(p.sizeBytes / (63 * heads * 512));
  return (
    '# Disk DescriptorFile\n' +
    'version=1\n' +
    `CID=${hex(p.cid)}\n` +
    `parentCID=${hex(p.parentCid)}\n` +
    `createType="${p.createType}"\n` +
    (p.parentFileNameHint !== undefined ? `parentFileNameHint="${p.parentFileNameHint}"` : '') +
    '\n' +
    '# Extent description\n' +
    p.extentLines +
    '\n' +
    '# The Disk Data Base\n' +
    '#DDB\n' +
    '\n' +
    `ddb.virtualHWVersion = "${p.hwVersion}"\n` +
    `ddb.geometry.cylinders = "${cylinders}"\n` +
    `ddb.geometry.heads = "${heads}"\n` +
    'ddb.geometry.sectors = "63"\n' +
    `ddb.adapterType = "${p.adapterType}"\n` +
    `ddb.toolsVersion = "${p.toolsVersion}"\n`
  );
}

/**
 * vmdk_write_cid: the descriptor with its CID replaced. QEMU rewrites from the first
 * "CID" on: the new value, then everything from "parentCID" on. Undefined when the
 * descriptor has no parentCID.
 */
export function withCid(desc: string, cid: number): string | undefined {
  const parentAt = desc.indexOf('parentCID');
  const at = desc.indexOf('CID');
  if (parentAt < 0 || at < 0) return undefined;
  const valueAt = at + 4;
  return desc.slice(0, valueAt) + `${hex(cid)}\n` + desc.slice(parentAt);
}

/** A deterministic stand-in for QEMU's g_random_int() CIDs: 8 hex digits, derived from `seed`. */
export function nextCid(seed: number): number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return ((x >>> 0) | 0x10000000) >>> 0;
}

/** FNV-1a of a string, to seed CIDs from an image's name. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
