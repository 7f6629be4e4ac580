/** blkverify: QEMU's differential checker. Importing this module registers the driver. */
export { blkverifyDriver, blkverifyFailure, type BlkverifyState } from './blkverify.js';
