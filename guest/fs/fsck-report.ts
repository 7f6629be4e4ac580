/** What fsck reports: one finding per broken invariant, each with a message naming the culprit. */

export type FsckCode =
  | 'SUPERBLOCK' // the superblock cannot be used
  | 'GROUP_DESC' // a descriptor points outside its group
  | 'JOURNAL' // the journal inode or superblock is unusable, or not empty after replay
  | 'JOURNAL_BACKUP' // s_jnl_blocks disagrees with the journal inode
  | 'INODE_BITMAP' // an inode in use in the bitmap but not in fact, or the reverse
  | 'INODE_MODE' // an inode in use with a type this file system does not have
  | 'INODE_DTIME' // an inode in use with a deletion time
  | 'BAD_BLOCK' // a block pointer outside the file system
  | 'BLOCK_IN_METADATA' // a block pointer into a superblock, descriptor, bitmap or inode table
  | 'DUP_BLOCK' // a block claimed twice
  | 'I_BLOCKS' // i_blocks disagrees with the blocks mapped
  | 'I_SIZE' // i_size disagrees with the blocks (blocks past EOF, directory size)
  | 'DIR_HOLE' // a directory block that is not mapped
  | 'TRIPLE_INDIRECT' // i_block[14] is set; this file system never uses it
  | 'DIR_ENTRY' // a broken rec_len chain, a bad name, an entry to a free or reserved inode
  | 'DIR_DOT' // "." or ".." missing or wrong
  | 'DIR_FILETYPE' // an entry's file_type disagrees with the inode
  | 'DIR_DUP_NAME' // two entries with one name
  | 'DIR_PARENTS' // a directory reachable from more than one parent
  | 'ORPHAN' // an inode in use that no path reaches
  | 'LINK_COUNT' // i_links_count disagrees with the entries naming the inode
  | 'BLOCK_BITMAP' // the block bitmap disagrees with the blocks in use
  | 'BITMAP_PADDING' // the bits past the end of a group are not set
  | 'FREE_COUNT'; // a free count in a descriptor or the superblock is wrong

export interface FsckFinding {
  readonly code: FsckCode;
  readonly message: string;
  readonly ino?: number;
  readonly block?: number;
}

export interface FsckReport {
  /** Empty for a clean file system. */
  readonly findings: FsckFinding[];
  /** Committed transactions replayed (on a copy) before checking. */
  readonly replayedTransactions: number;
}

export const finding = (code: FsckCode, message: string, where: { ino?: number; block?: number } = {}): FsckFinding => ({
  code,
  message,
  ...where,
});
