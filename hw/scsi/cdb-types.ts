/**
 * The commands iopath's initiator sends and its targets decode, as a tagged union: one
 * variant per command (sizes of one command share a variant with `size`), fields under the
 * names SPC-4 / SBC-3 / MMC-6 give them. `control` is the CDB's last byte, kept whole.
 *
 * Numbers are unsigned and in their field's range; LBAs are safe integers (a 16-byte CDB's
 * LBA beyond 2^53 - 1 is refused as out of range when parsed). READ(6) / WRITE(6) carry
 * their transfer length already adjusted: a TRANSFER LENGTH byte of 0 means 256 blocks. The
 * 6-byte commands have no DPO, FUA, protection or group fields: they decode as false / 0 and
 * are not written.
 */

export type RwSize = 6 | 10 | 12 | 16;

interface Control {
  readonly control: number;
}

/** DPO, FUA and the protection field shared by the 10/12/16-byte reads and writes. */
interface RwFlags {
  /** RDPROTECT / WRPROTECT / VRPROTECT (byte 1 bits 7..5): 0 without protection information. */
  readonly protect: number;
  /** Disable page out: do not keep the data in cache. */
  readonly dpo: boolean;
  readonly group: number;
}

export type TestUnitReady = { readonly op: 'TEST_UNIT_READY' } & Control;
export type RequestSense = { readonly op: 'REQUEST_SENSE'; readonly desc: boolean; readonly allocationLength: number } & Control;
export type Inquiry = { readonly op: 'INQUIRY'; readonly evpd: boolean; readonly pageCode: number; readonly allocationLength: number } & Control;
export type ModeSelect = {
  readonly op: 'MODE_SELECT';
  readonly size: 6 | 10;
  /** Page format: the pages follow SPC's format (QEMU accepts only PF=1). */
  readonly pf: boolean;
  /** Save pages. */
  readonly sp: boolean;
  readonly parameterListLength: number;
} & Control;
export type ModeSense = {
  readonly op: 'MODE_SENSE';
  readonly size: 6 | 10;
  /** Long LBA block descriptors accepted (MODE SENSE(10) only; false for 6). */
  readonly llbaa: boolean;
  /** Disable block descriptors. */
  readonly dbd: boolean;
  /** 0 current, 1 changeable, 2 default, 3 saved values. */
  readonly pageControl: number;
  readonly pageCode: number;
  readonly subpageCode: number;
  readonly allocationLength: number;
} & Control;
export type StartStopUnit = {
  readonly op: 'START_STOP_UNIT';
  readonly immed: boolean;
  readonly powerConditionModifier: number;
  readonly powerCondition: number;
  readonly noFlush: boolean;
  /** Load on start, eject on stop. */
  readonly loej: boolean;
  readonly start: boolean;
} & Control;
export type PreventAllowMediumRemoval = { readonly op: 'PREVENT_ALLOW_MEDIUM_REMOVAL'; readonly prevent: number } & Control;
export type ReadCapacity10 = { readonly op: 'READ_CAPACITY_10'; readonly lba: number; readonly pmi: boolean } & Control;
export type ReadCapacity16 = {
  readonly op: 'READ_CAPACITY_16';
  readonly lba: number;
  readonly allocationLength: number;
  /** Partial medium indicator. */
  readonly pmi: boolean;
} & Control;
export type GetLbaStatus = { readonly op: 'GET_LBA_STATUS'; readonly lba: number; readonly allocationLength: number } & Control;
export type Read = {
  readonly op: 'READ';
  readonly size: RwSize;
  readonly lba: number;
  /** Blocks; 1..256 for READ(6). */
  readonly transferLength: number;
  readonly fua: boolean;
  /** Rebuild assist recovery control. */
  readonly rarc: boolean;
} & RwFlags &
  Control;
export type Write = {
  readonly op: 'WRITE';
  readonly size: RwSize;
  readonly lba: number;
  /** Blocks; 1..256 for WRITE(6). */
  readonly transferLength: number;
  readonly fua: boolean;
} & RwFlags &
  Control;
export type Verify = {
  readonly op: 'VERIFY';
  readonly size: 10 | 12 | 16;
  readonly lba: number;
  readonly verificationLength: number;
  /** 0 medium verification only, 1 compare with data-out, 3 compare one block against each (SBC-4; 2 is reserved). */
  readonly bytchk: 0 | 1 | 3;
} & RwFlags &
  Control;
export type WriteAndVerify = {
  readonly op: 'WRITE_AND_VERIFY';
  readonly size: 10 | 12 | 16;
  readonly lba: number;
  readonly transferLength: number;
  readonly bytchk: boolean;
} & RwFlags &
  Control;
export type SynchronizeCache = {
  readonly op: 'SYNCHRONIZE_CACHE';
  readonly size: 10 | 16;
  readonly immed: boolean;
  readonly lba: number;
  /** 0: from `lba` to the end of the medium. */
  readonly numberOfBlocks: number;
  readonly group: number;
} & Control;
export type Unmap = { readonly op: 'UNMAP'; readonly anchor: boolean; readonly group: number; readonly parameterListLength: number } & Control;
export type WriteSame = {
  readonly op: 'WRITE_SAME';
  readonly size: 10 | 16;
  readonly protect: number;
  readonly anchor: boolean;
  /** The device may unmap (deallocate) the blocks instead of writing them. */
  readonly unmap: boolean;
  /** No data-out buffer: write zeroes (WRITE SAME(16) only; false for 10). */
  readonly ndob: boolean;
  readonly lba: number;
  /** 0: to the end of the medium (when the device allows it, WSNZ=0). */
  readonly numberOfBlocks: number;
  readonly group: number;
} & Control;
export type ReportLuns = { readonly op: 'REPORT_LUNS'; readonly selectReport: number; readonly allocationLength: number } & Control;
export type GetEventStatusNotification = {
  readonly op: 'GET_EVENT_STATUS_NOTIFICATION';
  readonly polled: boolean;
  readonly notificationClassRequest: number;
  readonly allocationLength: number;
} & Control;
export type ReadToc = {
  readonly op: 'READ_TOC';
  readonly msf: boolean;
  readonly format: number;
  readonly trackOrSession: number;
  readonly allocationLength: number;
} & Control;
export type ReportSupportedOpcodes = {
  readonly op: 'REPORT_SUPPORTED_OPCODES';
  /** Return command timeouts descriptor. */
  readonly rctd: boolean;
  /** 0 all commands, 1 one opcode, 2 one opcode + service action, 3 either (SPC-4 table 308). */
  readonly reportingOptions: number;
  readonly requestedOpcode: number;
  readonly requestedServiceAction: number;
  readonly allocationLength: number;
} & Control;
export type FormatUnit = {
  readonly op: 'FORMAT_UNIT';
  readonly fmtpinfo: number;
  readonly longList: boolean;
  readonly fmtData: boolean;
  readonly cmpLst: boolean;
  readonly defectListFormat: number;
} & Control;
export type Seek10 = { readonly op: 'SEEK_10'; readonly lba: number } & Control;
/** RESERVE / RELEASE (SPC-2; obsolete since SPC-3): QEMU completes them with GOOD and no effect. */
export type Reserve = { readonly op: 'RESERVE' | 'RELEASE'; readonly size: 6 | 10 } & Control;

export type Cdb =
  | TestUnitReady
  | RequestSense
  | Inquiry
  | ModeSelect
  | ModeSense
  | StartStopUnit
  | PreventAllowMediumRemoval
  | ReadCapacity10
  | ReadCapacity16
  | GetLbaStatus
  | Read
  | Write
  | Verify
  | WriteAndVerify
  | SynchronizeCache
  | Unmap
  | WriteSame
  | ReportLuns
  | GetEventStatusNotification
  | ReadToc
  | ReportSupportedOpcodes
  | FormatUnit
  | Seek10
  | Reserve;

export type CdbOp = Cdb['op'];
