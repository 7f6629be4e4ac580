/** echo 3 > /proc/sys/vm/drop_caches: clean pages go; what reads return must not change. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class DropCachesCommand implements fc.Command<FsModel, FsReal> {
  check = (): boolean => true;
  run(_m: FsModel, r: FsReal): void {
    same(this.toString(), ok(undefined), r.call(r.sys.dropCaches(r.task, 3), this.toString()));
  }
  toString = (): string => 'drop_caches(3)';
}
