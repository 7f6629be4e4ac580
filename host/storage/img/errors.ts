/**
 * The errors of the image tools (qemu-img's operations over the block layer), each with
 * qemu-img's words beside it. A block-layer error met on the way is wrapped, not copied.
 */
import type { BlockIoError } from '../block-backend-api.js';
import { blockErrorMessage, STRERROR, type BlockError } from '../errors.js';

export type ImgError =
  /** "Could not open 'x': <why>" */
  | { readonly _tag: 'OpenFailed'; readonly filename: string; readonly error: BlockError }
  /** A request failed: "<what>: <strerror>" (what: "error while reading sector 8", ...). */
  | { readonly _tag: 'IoFailed'; readonly what: string; readonly error: BlockIoError }
  /** The operation is not what this image's format does; the message is qemu-img's. */
  | { readonly _tag: 'Unsupported'; readonly message: string }
  /** A block-layer error reported as it is (create, change of backing file). */
  | { readonly _tag: 'Block'; readonly error: BlockError; readonly prefix?: string }
  /** Anything else qemu-img refuses, in its words. */
  | { readonly _tag: 'Refused'; readonly message: string };

export function imgErrorMessage(e: ImgError): string {
  switch (e._tag) {
    case 'OpenFailed':
      // qemu-img names only the protocol here (the block layer's message also repeats the filename).
      return `Could not open '${e.filename}': ${e.error._tag === 'UnknownProtocol' ? `Unknown protocol '${e.error.protocol}'` : blockErrorMessage(e.error)}`;
    case 'IoFailed':
      return `${e.what}: ${STRERROR[e.error.errno]}`;
    case 'Unsupported':
    case 'Refused':
      return e.message;
    case 'Block':
      return (e.prefix ?? '') + blockErrorMessage(e.error);
  }
}

export const refused = (message: string): ImgError => ({ _tag: 'Refused', message });
export const unsupported = (message: string): ImgError => ({ _tag: 'Unsupported', message });
