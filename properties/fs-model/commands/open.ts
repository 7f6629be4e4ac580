/** open(2) O_RDWR with O_CREAT / O_EXCL / O_TRUNC / O_APPEND: a new handle on success. */
import type fc from 'fast-check';
import { O_APPEND, O_CREAT, O_EXCL, O_RDWR, O_TRUNC } from '../../../guest/vfs/syscalls-api.js';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export interface OpenFlags {
  creat: boolean;
  excl: boolean;
  trunc: boolean;
  append: boolean;
}

/** What open must do (and the model's new handle). */
export function modelOpen(m: FsModel, path: string, f: OpenFlags): Result<void> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  const n = m.nodes.get(path);
  if (n?.kind === 'dir') return err(f.creat && f.excl ? 'EEXIST' : 'EISDIR');
  if (n && f.creat && f.excl) return err('EEXIST');
  let node = n;
  if (!node) {
    if (!f.creat) return err('ENOENT');
    node = m.newFile();
    m.bind(path, node);
  } else if (f.trunc && node.data.length > 0) m.truncate(node, 0);
  m.handles.push({ node, pos: 0, append: f.append });
  return ok(undefined);
}

export class OpenCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly path: string,
    readonly flags: OpenFlags,
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    const f = this.flags;
    const bits = O_RDWR | (f.creat ? O_CREAT : 0) | (f.excl ? O_EXCL : 0) | (f.trunc ? O_TRUNC : 0) | (f.append ? O_APPEND : 0);
    const actual = r.call(r.sys.open(r.task, this.path, bits, 0o644), this.toString());
    same(this.toString(), modelOpen(m, this.path, f), actual, () => true);
    if (actual._tag === 'Right') r.fds.push(actual.right);
  }
  toString = (): string =>
    `open(${this.path}, O_RDWR${this.flags.creat ? '|O_CREAT' : ''}${this.flags.excl ? '|O_EXCL' : ''}${this.flags.trunc ? '|O_TRUNC' : ''}${this.flags.append ? '|O_APPEND' : ''})`;
}
