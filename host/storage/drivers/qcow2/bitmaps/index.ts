/**
 * Persistent dirty bitmaps of qcow2 images (docs/interop/qcow2.txt "Bitmaps",
 * block/qcow2-bitmap.c): the on-disk codec (format), reading the directory and tables
 * (read), the checks and loading on open (load), bitmaps in memory (dirty), keeping them
 * true while the image is written (persist), and qemu-img info's list (info).
 */
export * from './format.js';
export { bitmapInfoList, imageBitmapInfo, type Qcow2BitmapInfo } from './info.js';
export { DirtyBitmap } from './dirty.js';
export { loadBitmapData, loadBitmaps, type LoadedBitmap } from './load.js';
export { markWritten, storeBitmaps, trackBitmaps, type TrackedBitmap } from './persist.js';
export { BitmapTable, loadBitmapList, loadBitmapTable, readInFile, type BitmapImage } from './read.js';
