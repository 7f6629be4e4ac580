/**
 * What the parts of the device share (QEMU's VirtIOBlock): the wiring, the realized
 * properties, and the little mutable state a request's life touches.
 */
import type { CostModel } from '../../../sim/costs.js';
import type { ExecutionContext } from '../../../sim/context.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { BlockBackendApi } from '../../storage/block-backend-api.js';
import type { ErrorSite } from '../block-error.js';
import type { Completer } from './complete.js';
import type { VirtioBlkConf } from './props.js';
import type { BlkReq } from './request.js';

export interface BlkState {
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
  readonly context: ExecutionContext;
  readonly backend: BlockBackendApi;
  readonly conf: VirtioBlkConf;
  readonly devName: string;
  /** The `serial` property as bytes (GET_ID). */
  readonly serial: Uint8Array;
  /** blk_get_max_transfer(): largest merged request, bytes. */
  readonly maxTransfer: number;
  /** blk_get_max_iov(): most buffers in a merged request. */
  readonly maxIov: number;
  readonly completer: Completer;
  /** 'qemu.blk.request', 'qemu.blk.complete' and 'copy.byte' (per byte), looked up once: the cost model is fixed for a device's life. */
  readonly requestNs: number;
  readonly completeNs: number;
  readonly copyByteNs: number;
  /** Bumped by reset(): completions of an older generation are dropped. */
  gen: number;
  /** virtio_error() happened (or the queue reported a broken ring): no more pops or pushes until reset. */
  broken: boolean;
  /** blk_enable_write_cache(): false makes every write FUA (QEMU adds BDRV_REQ_FUA). */
  /** Requests handed to the backend and not yet called back (current generation). */
  inFlight: number;
  /** Where failed requests are reported (rerror/werror, BLOCK_IO_ERROR, the VM's stop: block-error.ts). */
  readonly errorSite: ErrorSite;
  /** Requests an rerror/werror policy stopped, newest first (QEMU's s->rq), retried by resume(). */
  stopped: BlkReq[];
}
