/**
 * An open file description (struct file): what `open` made and every descriptor for it
 * shares — the access mode and flags, the file position, the readahead state
 * (file->f_ra) and the writeback-error cursor (file->f_wb_err, sampled at open, so fsync
 * reports a lost write once per description).
 */
import { newRaState, type FileRaState } from '../pagecache/readahead.js';
import type { ErrSeqCursor } from '../pagecache/errseq.js';
import type { VfsInode } from './inode.js';
import { O_ACCMODE, O_APPEND, O_DIRECT, O_DSYNC, O_RDONLY, O_WRONLY } from './syscalls-api.js';

/** What a description refers to: an inode of a mounted file system, or a directory of the root file system. */
export type FileNode = { readonly kind: 'inode'; readonly inode: VfsInode } | { readonly kind: 'rootfs'; readonly path: string };

export class OpenFile {
  pos = 0;
  readonly ra: FileRaState | undefined;
  readonly wbErr: ErrSeqCursor | undefined;

  constructor(
    readonly node: FileNode,
    readonly flags: number,
  ) {
    const m = node.kind === 'inode' ? node.inode.mapping : undefined;
    this.ra = m ? newRaState(m.raPages) : undefined;
    this.wbErr = m ? { since: m.wbErr.sample() } : undefined;
  }

  get inode(): VfsInode | undefined {
    return this.node.kind === 'inode' ? this.node.inode : undefined;
  }
  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }
  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }
  get append(): boolean {
    return (this.flags & O_APPEND) !== 0;
  }
  get direct(): boolean {
    return (this.flags & O_DIRECT) !== 0;
  }
  /** O_SYNC or O_DSYNC (O_SYNC includes the O_DSYNC bit): each write is followed by fsync of its range. */
  get syncWrites(): boolean {
    return (this.flags & O_DSYNC) !== 0;
  }
}
