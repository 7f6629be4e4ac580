/**
 * The UNMAP parameter list (SBC-3 §5.28.2):
 *   0..1  UNMAP DATA LENGTH (n - 2)   2..3  UNMAP BLOCK DESCRIPTOR DATA LENGTH (16 × count)   4..7 reserved
 *   then 16-byte block descriptors:  0..7 LBA   8..11 NUMBER OF LOGICAL BLOCKS   12..15 reserved
 *
 * Decoding checks the list as QEMU's scsi_disk_emulate_unmap does, against the PARAMETER LIST
 * LENGTH of the CDB: shorter than the header, or than either length field claims, or a
 * descriptor length not a multiple of 16, is PARAMETER LIST LENGTH ERROR. The descriptors read
 * are bounded by the bytes present, never by the length fields.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get16, get32, get64, get64Safe, put16, put32, put64 } from './bytes.js';
import { senseOf, type SenseData } from './sense.js';
import { SENSE_CODE } from './sense-codes.js';

export const UNMAP_HEADER_LEN = 8;
export const UNMAP_DESCRIPTOR_LEN = 16;

export interface UnmapDescriptor {
  readonly lba: number;
  readonly numberOfBlocks: number;
}

export type UnmapParamError =
  | { readonly _tag: 'ParameterListLength'; readonly message: string }
  | { readonly _tag: 'LbaOutOfRange'; readonly index: number; readonly lba: bigint };

export function unmapParamErrorMessage(e: UnmapParamError): string {
  return e._tag === 'ParameterListLength' ? `UNMAP parameter list: ${e.message}` : `UNMAP parameter list: descriptor ${e.index} LBA ${e.lba} is beyond any disk`;
}

export function unmapParamErrorSense(e: UnmapParamError): SenseData {
  return senseOf(e._tag === 'ParameterListLength' ? SENSE_CODE.INVALID_PARAM_LEN : SENSE_CODE.LBA_OUT_OF_RANGE);
}

export function encodeUnmapParameterList(descs: readonly UnmapDescriptor[]): Uint8Array {
  const out = new Uint8Array(UNMAP_HEADER_LEN + UNMAP_DESCRIPTOR_LEN * descs.length);
  put16(out, 0, out.length - 2);
  put16(out, 2, UNMAP_DESCRIPTOR_LEN * descs.length);
  descs.forEach((d, i) => {
    const o = UNMAP_HEADER_LEN + i * UNMAP_DESCRIPTOR_LEN;
    put64(out, o, d.lba);
    put32(out, o + 8, d.numberOfBlocks);
  });
  return out;
}

/**
 * The descriptors of an UNMAP parameter list. `parameterListLength` is the CDB's field; only
 * that many bytes of `data` count. A length of 0 is no list at all: no descriptors.
 */
export function decodeUnmapParameterList(data: Uint8Array, parameterListLength: number = data.length): E.Either<UnmapParamError, UnmapDescriptor[]> {
  const len = Math.min(Math.max(0, parameterListLength), data.length);
  if (parameterListLength === 0) return E.right([]);
  const bad = (message: string) => E.left<UnmapParamError>({ _tag: 'ParameterListLength', message });
  if (len < UNMAP_HEADER_LEN) return bad(`${len} bytes, the header needs ${UNMAP_HEADER_LEN}`);
  const dataLength = get16(data, 0);
  const descLength = get16(data, 2);
  if (len < dataLength + 2) return bad(`UNMAP DATA LENGTH ${dataLength} exceeds the ${len} bytes sent`);
  if (len < descLength + UNMAP_HEADER_LEN) return bad(`UNMAP BLOCK DESCRIPTOR DATA LENGTH ${descLength} exceeds the ${len} bytes sent`);
  if (descLength % UNMAP_DESCRIPTOR_LEN !== 0) return bad(`UNMAP BLOCK DESCRIPTOR DATA LENGTH ${descLength} is not a multiple of 16`);
  const out: UnmapDescriptor[] = [];
  for (let i = 0; i < descLength / UNMAP_DESCRIPTOR_LEN; i++) {
    const o = UNMAP_HEADER_LEN + i * UNMAP_DESCRIPTOR_LEN;
    const lba = get64Safe(data, o);
    if (lba === undefined) return E.left({ _tag: 'LbaOutOfRange', index: i, lba: get64(data, o) });
    out.push({ lba, numberOfBlocks: get32(data, o + 8) });
  }
  return E.right(out);
}
