/**
 * Errors of the guest file system, in the tiers of DESIGN.md ("Errors: three tiers"):
 *
 * - `Errno`: what a guest program sees from a file-system call (tier 1), a value, never a throw.
 *   The names and numbers are Linux's (include/uapi/asm-generic/errno-base.h, errno.h).
 *   guest/vfs will re-export this module.
 * - `FsError`: why mkfs, mount or a device read refused (tier 2): an errno for the caller plus
 *   a message, in the kernel's own words where it has some, that names the culprit.
 *
 * A broken invariant of the simulator itself (tier 3) throws an ordinary `Error`.
 */

/** The errnos a file-system operation can return (and the vfs's system calls: ENOMEM, EFAULT, ENOTBLK, ENODEV, EMFILE). */
export type Errno =
  | 'EPERM'
  | 'ENOENT'
  | 'EIO'
  | 'EBADF'
  | 'ENOMEM'
  | 'EFAULT'
  | 'ENOTBLK'
  | 'EBUSY'
  | 'EEXIST'
  | 'EXDEV'
  | 'ENODEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EMFILE'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EROFS'
  | 'EMLINK'
  | 'ENAMETOOLONG'
  | 'ENOTEMPTY'
  | 'ESTALE'
  | 'EUCLEAN';

/** Linux's errno numbers. */
export const ERRNO: Readonly<Record<Errno, number>> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  ESTALE: 116,
  EUCLEAN: 117,
};

/** strerror(3), glibc's wording. */
export const STRERROR: Readonly<Record<Errno, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  ENOMEM: 'Cannot allocate memory',
  EFAULT: 'Bad address',
  ENOTBLK: 'Block device required',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  ENAMETOOLONG: 'File name too long',
  ENOTEMPTY: 'Directory not empty',
  ESTALE: 'Stale file handle',
  EUCLEAN: 'Structure needs cleaning',
};

/** A refused mkfs or mount, or a failed device access: the errno and a message naming the culprit. */
export interface FsError {
  readonly errno: Errno;
  readonly message: string;
}

export const fsError = (errno: Errno, message: string): FsError => ({ errno, message });
