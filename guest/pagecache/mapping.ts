/**
 * A mapping (struct address_space): the cached pages of one inode or one block device,
 * indexed by page index (page-index.ts: the xarray, reduced), with the owner's ops, the
 * size of the file (i_size, which buffered writes extend), its dirty and writeback
 * counts, and its writeback error: an errseq_t for fsync (reported once per file
 * description) and the AS_EIO / AS_ENOSPC flags that filemap_check_errors tests and clears.
 */
import { ErrSeq } from './errseq.js';
import type { CachedPage } from './page.js';
import { SparseIndex } from '../../sim/sparse-index.js';
import { PageList } from './page-list.js';
import { newRaState, type FileRaState } from './readahead.js';
import type { AddressSpaceOps, Errno } from './types.js';

export class Mapping {
  /** i_pages: index → page. */
  readonly pages = new SparseIndex<CachedPage>();
  /** Dirty pages (the xarray's PAGECACHE_TAG_DIRTY). */
  readonly dirtyPages = new PageList<CachedPage>('mappingDirtyPrev', 'mappingDirtyNext');
  /** Pages under writeback (PAGECACHE_TAG_WRITEBACK). */
  readonly writebackPages = new PageList<CachedPage>('writebackPrev', 'writebackNext');
  /** mapping->wb_err. */
  readonly wbErr = new ErrSeq();
  /** Readahead state for callers without a file description of their own (the vfs passes file->f_ra). */
  readonly ra: FileRaState;
  private asError: Errno | undefined;

  constructor(
    /** Creation order, for a deterministic walk over mappings. */
    readonly id: number,
    /** Name in traces (a device name, or an inode like `ino:12`). */
    readonly name: string,
    readonly ops: AddressSpaceOps,
    /** i_size in bytes. */
    public size: number,
    /** Maximum readahead window in pages (read_ahead_kb / 4). */
    readonly raPages: number,
  ) {
    this.ra = newRaState(raPages);
  }

  get nrPages(): number {
    return this.pages.size;
  }

  get nrDirty(): number {
    return this.dirtyPages.size;
  }

  get nrWriteback(): number {
    return this.writebackPages.size;
  }

  /** mapping_set_error: record a writeback error for fsync (errseq) and for filemap_check_errors. */
  setError(err: Errno): void {
    this.wbErr.set(err);
    this.asError = err === 'ENOSPC' ? 'ENOSPC' : this.asError === 'ENOSPC' ? 'ENOSPC' : 'EIO';
  }

  /** filemap_check_errors: test and clear AS_ENOSPC / AS_EIO (ENOSPC wins, as in Linux). */
  checkErrors(): Errno | undefined {
    const e = this.asError;
    this.asError = undefined;
    return e;
  }

  /** The pages with index in [first, last], ascending; from `set` (default: all pages). */
  pagesInRange(first: number, last: number, set?: Iterable<CachedPage>): CachedPage[] {
    if (last < first) return [];
    const out: CachedPage[] = [];
    if (!set && last - first + 1 <= this.pages.size) {
      for (let i = first; i <= last; i++) {
        const p = this.pages.get(i);
        if (p) out.push(p);
      }
      return out;
    }
    for (const p of set ?? this.pages.values()) if (p.index >= first && p.index <= last) out.push(p);
    return out.sort((a, b) => a.index - b.index);
  }
}
