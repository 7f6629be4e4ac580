/**
 * umount and mount /mnt again (every handle closed first, as umount would say EBUSY):
 * what was written is read back from the disk through a freshly mounted file system.
 */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import { MOUNT, type FsReal } from '../real.js';

export class RemountCommand implements fc.Command<FsModel, FsReal> {
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    for (const fd of r.fds.splice(0)) same(`${this}: close(${fd})`, ok(undefined), r.call(r.sys.close(r.task, fd), this.toString()));
    m.handles.splice(0);
    same(`${this}: umount`, ok(undefined), r.call(r.sys.umount(r.task, MOUNT.dir), this.toString()));
    same(`${this}: mount`, ok(undefined), r.call(r.sys.mount(r.task, r.device, MOUNT.dir), this.toString()));
  }
  toString = (): string => 'remount';
}
