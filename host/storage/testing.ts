/**
 * Helpers for tests of device models that need a drive: a fresh simulation environment
 * and a memory-backed BlockBackend. (The driver-side counterpart of rust-vmm's mock queue.)
 */
import * as E from 'fp-ts/lib/Either.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Trace } from '../../sim/trace.js';
import type { BlockBackend } from './block-backend.js';
import type { CacheMode } from './cache-mode.js';
import type { BlockEnv } from './driver.js';
import { blockErrorMessage } from './errors.js';
import { openBlockGraph, type OpenedDrive } from './open.js';

export function newBlockEnv(costs: CostModel = new CostModel()): BlockEnv {
  return { sim: new Simulator(), trace: new Trace(), costs };
}

export interface MemoryDriveOptions {
  readonly size: number;
  readonly cache?: CacheMode;
  readonly discard?: 'ignore' | 'unmap';
  readonly readOnly?: boolean;
}

/** -drive driver=raw over a memory node; throws on a bad configuration (test code). */
export function memoryDrive(env: BlockEnv, opts: MemoryDriveOptions): OpenedDrive {
  const r = openBlockGraph(env, {
    drive: {
      format: 'raw',
      'file.driver': 'memory',
      'file.size': opts.size,
      cache: opts.cache ?? 'writeback',
      discard: opts.discard ?? 'unmap',
      readonly: opts.readOnly ?? false,
    },
  });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

/** Run the simulation until `blk` has nothing in flight. */
export function drain(env: BlockEnv, blk: BlockBackend): void {
  env.sim.run({ stop: () => blk.inFlight === 0 });
}
