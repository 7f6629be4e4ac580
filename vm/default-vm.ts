/**
 * The built-in default VM: one vCPU, 1 GiB of RAM, and a virtio-blk disk over a 1 GiB
 * raw image held in memory — the configuration `npm start` and `iopath run` without
 * QEMU arguments use.
 */
export const DEFAULT_VM_ARGS: readonly string[] = [
  '-m',
  '1G',
  '-smp',
  '1',
  '-blockdev',
  'driver=raw,node-name=disk0,file.driver=memory,file.size=1G',
  '-device',
  'virtio-blk-pci,drive=disk0,id=vblk0',
];
