/**
 * The block layer's errors, in two of the three tiers (DESIGN.md "Errors: three tiers"):
 *
 * - `BlockError`: configuration and domain errors (a bad `-drive`/`-blockdev`, a missing
 *   image file), a tagged union returned in an fp-ts `Either`. Each variant's message is
 *   written beside it, in QEMU's words, and names the culprit.
 * - `BlockIoError` (declared in block-backend-api.ts): what a request completes with when
 *   it fails. A guest controls offsets and lengths, so these are values, never throws.
 *
 * Broken invariants of the simulator itself (tier 3) throw ordinary `Error`s.
 */
import type { BlockIoError } from './block-backend-api.js';

export type BlockError =
  /** "Unknown driver 'foo'" */
  | { readonly _tag: 'UnknownDriver'; readonly driver: string }
  /** "Unknown protocol 'foo'": a filename 'foo:...' names no registered protocol driver. */
  | { readonly _tag: 'UnknownProtocol'; readonly protocol: string; readonly filename: string }
  /** "Parameter 'driver' is missing" */
  | { readonly _tag: 'MissingParameter'; readonly parameter: string }
  /** "Parameter 'size' expects <expected>" */
  | { readonly _tag: 'BadParameter'; readonly parameter: string; readonly value: unknown; readonly expected: string }
  /** "Block format 'raw' does not support the option 'foo'" (or "Block protocol ... doesn't ...") */
  | { readonly _tag: 'UnsupportedOption'; readonly driver: string; readonly protocol: boolean; readonly option: string }
  /** "Could not open 'x': No such file or directory" */
  | { readonly _tag: 'CouldNotOpen'; readonly filename: string; readonly reason: string }
  /** "Could not create 'x': Permission denied" */
  | { readonly _tag: 'CouldNotCreate'; readonly filename: string; readonly reason: string }
  /** 'A block device must be specified for "file"' */
  | { readonly _tag: 'ChildMissing'; readonly driver: string; readonly child: string }
  /** "Cannot find device='' nor node-name='x'" */
  | { readonly _tag: 'NodeNotFound'; readonly name: string }
  /** "Duplicate nodes with node-name='x'" */
  | { readonly _tag: 'DuplicateNodeName'; readonly name: string }
  /** "Invalid node-name: 'x'" */
  | { readonly _tag: 'InvalidNodeName'; readonly name: string }
  /** "invalid cache option 'x'" */
  | { readonly _tag: 'InvalidCacheMode'; readonly value: string }
  /** -drive rerror= / werror= names no action (parse_block_error_action). */
  | { readonly _tag: 'InvalidErrorAction'; readonly value: string; readonly isRead: boolean }
  /** A driver refused its options; `message` is the driver's own (QEMU's) wording. */
  | { readonly _tag: 'DriverError'; readonly driver: string; readonly message: string };

export function blockErrorMessage(e: BlockError): string {
  switch (e._tag) {
    case 'UnknownDriver':
      return `Unknown driver '${e.driver}'`;
    case 'UnknownProtocol':
      return `Unknown protocol '${e.protocol}' (in filename '${e.filename}')`;
    case 'MissingParameter':
      return `Parameter '${e.parameter}' is missing`;
    case 'BadParameter':
      return `Parameter '${e.parameter}' expects ${e.expected}, got ${JSON.stringify(e.value)}`;
    case 'UnsupportedOption':
      return e.protocol
        ? `Block protocol '${e.driver}' doesn't support the option '${e.option}'`
        : `Block format '${e.driver}' does not support the option '${e.option}'`;
    case 'CouldNotOpen':
      return `Could not open '${e.filename}': ${e.reason}`;
    case 'CouldNotCreate':
      return `Could not create '${e.filename}': ${e.reason}`;
    case 'ChildMissing':
      return `A block device must be specified for "${e.child}" (driver '${e.driver}')`;
    case 'NodeNotFound':
      return `Cannot find device='' nor node-name='${e.name}'`;
    case 'DuplicateNodeName':
      return `Duplicate nodes with node-name='${e.name}'`;
    case 'InvalidNodeName':
      return `Invalid node-name: '${e.name}'`;
    case 'InvalidErrorAction':
      return `'${e.value}' invalid ${e.isRead ? 'read' : 'write'} error action`;
    case 'InvalidCacheMode':
      return `invalid cache option '${e.value}' (expected writeback, none, writethrough, directsync or unsafe)`;
    case 'DriverError':
      return e.message;
  }
}

export type Errno = BlockIoError['errno'];

/** strerror(3) for the errnos a request can complete with. */
export const STRERROR: Readonly<Record<Errno, string>> = {
  EIO: 'Input/output error',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EINVAL: 'Invalid argument',
  ENOTSUP: 'Operation not supported',
  ENOMEDIUM: 'No medium found',
  ENODATA: 'No data available',
  EREMOTEIO: 'Remote I/O error',
};

/** Linux's number for each errno (x86-64 asm-generic/errno*.h). */
export const ERRNO_NUMBER: Readonly<Record<Errno, number>> = { EIO: 5, EINVAL: 22, ENOSPC: 28, EROFS: 30, ENODATA: 61, ENOTSUP: 95, EREMOTEIO: 121, ENOMEDIUM: 123 };

/** A failed request's outcome. */
export function ioError(errno: Errno, message: string): BlockIoError {
  return { errno, message };
}

/** The reason text for a Node.js system error (fs), as strerror would print it. */
export function systemErrorReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'EROFS':
      return STRERROR.EROFS;
    case 'ENOSPC':
      return STRERROR.ENOSPC;
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** A request that failed in the host's file I/O: ENOSPC stays ENOSPC, anything else is EIO. */
export function ioErrorFromSystem(node: string, err: unknown): BlockIoError {
  const errno: Errno = (err as { code?: unknown }).code === 'ENOSPC' ? 'ENOSPC' : 'EIO';
  return ioError(errno, `${node}: ${systemErrorReason(err)}`);
}
