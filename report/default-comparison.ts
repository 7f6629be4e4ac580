/**
 * The comparison `npm start` prints: the default VM with one knob turned at a time —
 * ioeventfd on/off, EVENT_IDX on/off at iodepth 1 and 32, MSI-X vs INTx, and the
 * device on an iothread — then the same disk behind virtio-scsi (a virtio-scsi-pci HBA
 * with a scsi-hd, MSI-X and ioeventfd as QEMU defaults them) at iodepth 1 and 32, each
 * paired with its virtio-blk row. Every number comes from running each configuration.
 */
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { DEFAULT_JOB, type FioJob } from '../workload/index.js';
import type { Experiment } from './experiment.js';

const DEVICE = 'virtio-blk-pci,drive=disk0,id=vblk0';

function withDevice(extra: string, prefix: readonly string[] = []): string[] {
  const args = [...prefix, ...DEFAULT_VM_ARGS];
  const i = args.indexOf(DEVICE);
  args[i] = DEVICE + extra;
  return args;
}

/** The default VM with its disk on a virtio-scsi HBA instead (/dev/sda). */
function onVirtioScsi(hbaExtra = ''): string[] {
  const args = [...DEFAULT_VM_ARGS];
  const i = args.indexOf(DEVICE);
  args.splice(i, 1, `virtio-scsi-pci,id=scsi0${hbaExtra}`, '-device', 'scsi-hd,bus=scsi0.0,drive=disk0,id=sd0');
  return args;
}

function job(iodepth: number, ios: number): FioJob[] {
  return [{ ...DEFAULT_JOB, name: `randwrite-qd${iodepth}`, iodepth, numberIos: ios, ioSize: ios * DEFAULT_JOB.bs }];
}

export const QD1_BLK = 'qd1  ioeventfd=on  event_idx=on  msix';
export const QD32_BLK = 'qd32 ioeventfd=on  event_idx=on  msix';
export const QD1_SCSI = 'qd1  virtio-scsi  ioeventfd=on  msix';
export const QD32_SCSI = 'qd32 virtio-scsi  ioeventfd=on  msix';

/** Rows that differ only in the device: [name, virtio-scsi row, virtio-blk row]. */
export const SCSI_BLK_PAIRS: readonly (readonly [string, string, string])[] = [
  ['qd1 ', QD1_SCSI, QD1_BLK],
  ['qd32', QD32_SCSI, QD32_BLK],
];

export function defaultComparison(ios = 4000): Experiment[] {
  const qd1 = job(1, ios);
  const qd32 = job(32, ios * 4);
  return [
    { label: QD1_BLK, qemuArgs: withDevice(''), jobs: qd1 },
    { label: 'qd1  ioeventfd=off', qemuArgs: withDevice(',ioeventfd=off'), jobs: qd1 },
    { label: 'qd1  event_idx=off', qemuArgs: withDevice(',event_idx=off'), jobs: qd1 },
    { label: 'qd1  INTx (vectors=0)', qemuArgs: withDevice(',vectors=0'), jobs: qd1 },
    { label: 'qd1  iothread', qemuArgs: withDevice(',iothread=io0', ['-object', 'iothread,id=io0']), jobs: qd1 },
    { label: QD32_BLK, qemuArgs: withDevice(''), jobs: qd32 },
    { label: 'qd32 event_idx=off', qemuArgs: withDevice(',event_idx=off'), jobs: qd32 },
    { label: 'qd32 ioeventfd=off', qemuArgs: withDevice(',ioeventfd=off'), jobs: qd32 },
    { label: 'qd32 INTx (vectors=0)', qemuArgs: withDevice(',vectors=0'), jobs: qd32 },
    { label: QD1_SCSI, qemuArgs: onVirtioScsi(), jobs: qd1 },
    { label: QD32_SCSI, qemuArgs: onVirtioScsi(), jobs: qd32 },
  ];
}
