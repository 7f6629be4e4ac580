/**
 * The VM's run state: QMP's `stop` and `cont`, and the stop a drive's rerror/werror
 * policy asks for (QEMU's RUN_STATE_IO_ERROR).
 *
 * Stopping (softmmu/cpus.c do_vm_stop): every vCPU stops between two pieces of work
 * (pause_all_vcpus) — what the guest would run waits, interrupts stay pending — and the
 * guest's clock stops (kvmclock keeps its value), so no guest timeout, writeback deadline
 * or journal commit expires because the VM was stopped. QEMU then drains and flushes
 * every drive (bdrv_drain_all, bdrv_flush_all): requests already at the drives complete
 * (a completion's interrupt waits for the vCPUs) and each drive is flushed. A stop
 * requested by a device runs on QEMU's main loop soon after (qemu_system_vm_stop_request),
 * not in the middle of the device's own work.
 *
 * Continuing (qmp_cont → vm_start): the run state is `running` again, each device retries
 * what its rerror/werror policy stopped (virtio_blk_dma_restart_cb, scsi_dma_restart_cb),
 * the guest's clock runs on from where it stopped and the vCPUs resume. A request that
 * fails again stops the VM again.
 *
 * Every change is a `runstate` trace event (QMP's STOP and RESUME); a stop asked for by a
 * policy follows the device's `block-io-error` event.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { RunState } from '../sim/trace.js';
import type { Machine } from './machine.js';

/** A stopped machine's run state: `paused` (QMP stop) or `io-error` (an rerror/werror stop). */
export type StoppedState = Extract<RunState, 'paused' | 'io-error'>;

export type RunStateError = { readonly _tag: 'MachineOff' };

export function runStateErrorMessage(e: RunStateError): string {
  switch (e._tag) {
    case 'MachineOff':
      return 'the machine is off';
  }
}

/** Whether the machine is stopped (by QMP stop or an I/O error), not off. */
export function isStopped(m: Machine): boolean {
  return m.state === 'paused' || m.state === 'io-error';
}

/** Why a run that did not finish is stuck, when it is because the VM is stopped ('' otherwise). */
export function stoppedReason(m: Machine): string {
  return isStopped(m) ? `the VM is stopped (${m.state}) and nothing continued it` : '';
}

/** vm_stop(state): stop the vCPUs and the guest's clock, then drain and flush the drives. Stopping a stopped VM changes nothing. */
export function stopVm(m: Machine, state: StoppedState): E.Either<RunStateError, void> {
  if (m.state === 'off') return E.left({ _tag: 'MachineOff' });
  if (m.state !== 'running') return E.right(undefined);
  for (const v of m.host.kvm.vcpus) v.ctx.pause();
  m.guest.kernel.clock.pause();
  m.state = state;
  m.trace.emit({ kind: 'runstate', t: m.sim.now, state });
  // bdrv_flush_all: requests at the drives complete on their own (drain); then each drive is flushed.
  for (const d of new Set([...m.host.storage.drives.values()].map((x) => x.blk))) d.flush(() => undefined);
  return E.right(undefined);
}

/** qemu_system_vm_stop_request: the main loop stops the VM when it next runs. */
export function requestStop(m: Machine, state: StoppedState): void {
  m.host.mainLoop.run('vm stop', () => {
    stopVm(m, state);
  });
}

/** QMP cont: devices retry what stopped, the guest's clock and vCPUs run again. On a running VM it does nothing. */
export function cont(m: Machine): E.Either<RunStateError, void> {
  if (m.state === 'off') return E.left({ _tag: 'MachineOff' });
  if (m.state === 'running') return E.right(undefined);
  m.state = 'running';
  m.trace.emit({ kind: 'runstate', t: m.sim.now, state: 'running' });
  // vm_state_notify(running): the devices' restart callbacks, then resume_all_vcpus.
  for (const d of m.host.devices) d.model.resume();
  for (const h of m.host.scsiHbas) for (const d of h.disks) d.model.resume();
  m.guest.kernel.clock.resume();
  for (const v of m.host.kvm.vcpus) v.ctx.resume();
  return E.right(undefined);
}

/** Wire a machine's devices to it: a policy stop stops the VM (blk_error_action → qemu_system_vm_stop_request). */
export function attachRunState(m: Machine): void {
  m.host.ioErrorStop = () => requestStop(m, 'io-error');
}
