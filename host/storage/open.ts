/**
 * One drive, one call: a BlockBackend built from `-drive` options or from a `-blockdev`
 * spec, with the graph it lives in. A VM with several disks passes its one `BlockGraph`
 * to every call (or uses `openDrive` / `blockdevAdd` + `newBackend` on it directly).
 * Also `createImage`, qemu-img create.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BackendOptions, BlockBackend } from './block-backend.js';
import { openDrive, type DriveOptions } from './drive.js';
import type { BlockEnv } from './driver.js';
import type { BlockError } from './errors.js';
import { BlockGraph, type BlockdevSpec } from './graph.js';
import { findBlockDriver } from './registry.js';

export type BlockGraphSpec =
  /** -drive file=...,format=...,cache=...,aio=...,discard=... */
  | { readonly drive: DriveOptions }
  /** -blockdev <spec> plus the device's view of it (write-cache, read-only). */
  | { readonly blockdev: BlockdevSpec; readonly backend?: BackendOptions };

export interface OpenedDrive {
  readonly graph: BlockGraph;
  readonly blk: BlockBackend;
}

/**
 * Open one drive, in a new graph or in `graph` (pass the VM's graph so that node names,
 * auto-generated '#blockN' included, are unique across its drives).
 */
export function openBlockGraph(env: BlockEnv, spec: BlockGraphSpec, graph: BlockGraph = new BlockGraph(env)): E.Either<BlockError, OpenedDrive> {
  const blk =
    'drive' in spec
      ? openDrive(graph, spec.drive)
      : E.flatMap(graph.blockdevAdd(spec.blockdev), (bs) => graph.newBackend(bs, spec.backend));
  return E.isRight(blk) ? E.right({ graph, blk: blk.right }) : blk;
}

/** qemu-img create -f <format> <filename> <size>: an empty image (a sparse file for raw/file). */
export function createImage(format: string, filename: string, size: number): E.Either<BlockError, void> {
  const drv = findBlockDriver(format);
  if (!drv) return E.left({ _tag: 'UnknownDriver', driver: format });
  if (!drv.create) return E.left({ _tag: 'DriverError', driver: format, message: `Format driver '${format}' does not support image creation` });
  return drv.create(filename, size);
}
