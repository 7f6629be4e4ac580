/**
 * The images the file-system properties run on: a raw image in host memory, and a raw
 * image in a real (sparse) host file under a temporary folder removed after the suite —
 * behind virtio-blk (/dev/vda) or behind virtio-scsi and scsi-hd (/dev/sda).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { Frontend } from '../support/vm.js';

export const DISK = 32 * 1024 * 1024;

export interface Backend {
  name: string;
  /** QEMU arguments of a fresh VM on a fresh, empty image. */
  args: () => string[];
  /** The guest's block device over the image. */
  device: string;
}

/** The image's front end: its -device arguments and the guest's name for the disk. */
function frontend(f: Frontend): { devices: string[]; device: string; label: string } {
  return f === 'virtio-scsi'
    ? { devices: ['-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-hd,bus=scsi0.0,drive=d0,id=hd0'], device: '/dev/sda', label: 'virtio-scsi /dev/sda' }
    : { devices: ['-device', 'virtio-blk-pci,drive=d0,id=vblk0'], device: '/dev/vda', label: 'virtio-blk /dev/vda' };
}

export function fsBackends(prefix: string, front: Frontend = 'virtio-blk'): Backend[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const { devices, device, label } = frontend(front);
  return [
    { name: `raw image in memory, ${label}`, device, args: () => ['-m', '256M', '-blockdev', `driver=raw,node-name=d0,file.driver=memory,file.size=${DISK}`, ...devices] },
    {
      name: `raw image in a host file, ${label}`,
      device,
      args: () => {
        const f = path.join(tmp, `disk${n++}.img`);
        fs.writeFileSync(f, '');
        fs.truncateSync(f, DISK);
        return ['-m', '256M', '-drive', `file=${f},format=raw,if=none,id=d0`, ...devices];
      },
    },
  ];
}
