/**
 * The images the file-system properties run on: a raw image in host memory, and a raw
 * image in a real (sparse) host file under a temporary folder removed after the suite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const DISK = 32 * 1024 * 1024;

export interface Backend {
  name: string;
  /** QEMU arguments of a fresh VM on a fresh, empty image. */
  args: () => string[];
}

export function fsBackends(prefix: string): Backend[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const device = 'virtio-blk-pci,drive=d0,id=vblk0';
  return [
    { name: 'raw image in memory', args: () => ['-m', '256M', '-blockdev', `driver=raw,node-name=d0,file.driver=memory,file.size=${DISK}`, '-device', device] },
    {
      name: 'raw image in a host file',
      args: () => {
        const f = path.join(tmp, `disk${n++}.img`);
        fs.writeFileSync(f, '');
        fs.truncateSync(f, DISK);
        return ['-m', '256M', '-drive', `file=${f},format=raw,if=none,id=d0`, '-device', device];
      },
    },
  ];
}
