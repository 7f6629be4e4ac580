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
import { findBlockDriver, findProtocolDriver } from './registry.js';
import type { CreateContext } from './image-api.js';
import { parseOptions } from './options.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Trace } from '../../sim/trace.js';

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

/**
 * qemu-img create -f <format> [-o options] <filename> <size>: an empty image. `options`
 * are the `-o` key=value pairs, checked against the driver's `createOptions`.
 */
export function createImage(
  format: string,
  filename: string,
  size: number,
  options: Readonly<Record<string, unknown>> = {},
  env: BlockEnv = standaloneEnv(),
): E.Either<BlockError, void> {
  const drv = findBlockDriver(format);
  if (!drv) return E.left({ _tag: 'UnknownDriver', driver: format });
  if (!drv.create) return E.left({ _tag: 'DriverError', driver: format, message: `Format driver '${format}' does not support image creation` });
  const table = drv.createOptions ?? {};
  for (const k of Object.keys(options)) {
    if (!(k in table)) return E.left({ _tag: 'DriverError', driver: format, message: `Invalid parameter '${k}'` });
  }
  const create = drv.create;
  return E.flatMap(parseOptions(table, options), (opts) => create(filename, size, opts, createContext(env)));
}

/** A simulation env for block work outside a VM (qemu-img). */
export function standaloneEnv(): BlockEnv {
  return { sim: new Simulator(), trace: new Trace(), costs: new CostModel() };
}

/** The CreateContext `createImage` gives drivers: scratch graphs over the protocol layer. */
export function createContext(env: BlockEnv): CreateContext {
  return {
    env,
    createFile(filename, size) {
      return E.flatMap(findProtocolDriver(filename), (proto) => {
        if (!proto.create) return E.left({ _tag: 'DriverError', driver: proto.formatName, message: `Protocol driver '${proto.formatName}' does not support image creation` });
        const made = proto.create(filename, size, {}, this);
        if (E.isLeft(made)) return made;
        const graph = new BlockGraph(env);
        const bs = graph.blockdevAdd({ driver: proto.formatName, filename });
        if (E.isRight(bs)) bs.right.growable = true;
        return bs;
      });
    },
    openImage(filename, format) {
      const graph = new BlockGraph(env);
      const blk = openDrive(graph, { file: filename, format, readonly: true });
      return E.isRight(blk) ? E.right(blk.right.root) : blk;
    },
  };
}
