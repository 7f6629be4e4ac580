/**
 * The VFS's in-memory inode (struct inode) for a file or directory of a mounted file
 * system: its page-cache mapping (regular files; i_size lives in `mapping.size`, the
 * file system's copy on disk catches up at writeback), how many open file descriptions
 * use it, the lock writers and truncate take (i_rwsem), the data writes in flight (which
 * a journal commit waits for in ordered mode) and the journal commit that carries its
 * latest metadata change (what fsync waits for).
 *
 * Unlinking the last name of an open file does not free it: the name moves to
 * `/lost+found/.orphan-<ino>` (`orphan`) and the last close deletes it (ext3 keeps an
 * orphan list in the superblock instead; guest/fs has none). Once freed the inode is
 * `dead`: its pages are gone and its number may be reused.
 */
import type { Mapping } from '../pagecache/mapping.js';
import type { MountedFs } from './mounted-fs.js';
import { Latch, SleepLock } from './wait.js';

export type InodeKind = 'file' | 'dir';

export class VfsInode {
  /** Open file descriptions of this inode. */
  opens = 0;
  /** Where its last name went when it was unlinked while open. */
  orphan: string | undefined;
  /** Freed on disk; its mapping is released. */
  dead = false;
  /** Number of the journal commit that carries this inode's latest metadata change. */
  metaSeq = 0;
  /** Data writes in flight (each a batch of bios). */
  readonly inflight = new Set<Latch>();
  /** i_rwsem: writers, O_DIRECT writers and truncate hold it. */
  readonly lock = new SleepLock();
  /** Regular files: the page cache's pages of the file. */
  mapping: Mapping | undefined;

  constructor(
    readonly mnt: MountedFs,
    readonly ino: number,
    readonly kind: InodeKind,
  ) {}

  /** Start tracking a batch of data writes; count the latch down once when the batch completes. */
  startIo(): Latch {
    const l = new Latch(1);
    this.inflight.add(l);
    l.wait(() => this.inflight.delete(l));
    return l;
  }

  /** i_size as the VFS knows it (the file system's on-disk size may lag behind). */
  get size(): number {
    return this.mapping?.size ?? 0;
  }
}
