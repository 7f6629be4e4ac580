/** The crash checker itself: what it must accept and what it must refuse. */
import { describe, expect, it } from 'vitest';
import { checkAfterCrash, fileMismatch } from './crash-check.js';
import { FsModel, type FileNode } from './model.js';
import type { TreeEntry } from './tree.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function fileWithHistory(): { m: FsModel; f: FileNode } {
  const m = new FsModel();
  const f = m.newFile();
  m.bind('/mnt/f', f);
  m.writeAt(f, 0, bytes(1, 2, 3, 4)); // v1
  f.fsynced = f.versions.length - 1;
  m.writeAt(f, 2, bytes(9, 9, 9)); // v2: 1 2 9 9 9
  return { m, f };
}

describe('fileMismatch', () => {
  it('accepts the fsynced version, a later one, and a mix of them byte by byte', () => {
    const { f } = fileWithHistory();
    expect(fileMismatch(f, bytes(1, 2, 3, 4))).toBeUndefined();
    expect(fileMismatch(f, bytes(1, 2, 9, 9, 9))).toBeUndefined();
    expect(fileMismatch(f, bytes(1, 2, 9, 4))).toBeUndefined();
  });
  it('refuses what came before the fsync, a size it never had, and bytes never written', () => {
    const { f } = fileWithHistory();
    expect(fileMismatch(f, bytes())).toMatch(/0 bytes, but since its last fsync/);
    expect(fileMismatch(f, bytes(1, 2, 3))).toMatch(/sizes 4, 5/);
    expect(fileMismatch(f, bytes(1, 2, 3, 7))).toMatch(/byte 3 is 7/);
    expect(fileMismatch(f, bytes(0, 2, 3, 4))).toMatch(/byte 0 is 0/);
  });
  it('a file never fsynced may be empty, or hold zeroes', () => {
    const m = new FsModel();
    const f = m.newFile();
    m.writeAt(f, 0, bytes(5, 6));
    expect(fileMismatch(f, bytes())).toBeUndefined();
    expect(fileMismatch(f, bytes(0, 6))).toBeUndefined();
    expect(fileMismatch(f, bytes(7, 6))).toMatch(/byte 0 is 7/);
  });
});

describe('checkAfterCrash', () => {
  // mkfs.ext3 made lost+found: it is always there.
  const tree = (entries: [string, TreeEntry][]): Map<string, TreeEntry> => new Map([['/mnt/lost+found', { kind: 'dir' }], ...entries]);
  it('an entry whose directory was fsynced must be there; others may be missing', () => {
    const { m, f } = fileWithHistory();
    m.bind('/mnt/d', m.newDir());
    expect(() => checkAfterCrash(m, tree([]))).not.toThrow();
    m.dirSynced('/mnt');
    expect(() => checkAfterCrash(m, tree([]))).toThrow(/\/mnt\/[df] is gone/);
    expect(() => checkAfterCrash(m, tree([['/mnt/d', { kind: 'dir' }], ['/mnt/f', { kind: 'file', data: f.data }]]))).not.toThrow();
    // A later rename makes the old entry uncertain again.
    m.move('/mnt/f', '/mnt/g');
    expect(() => checkAfterCrash(m, tree([['/mnt/d', { kind: 'dir' }], ['/mnt/g', { kind: 'file', data: f.data }]]))).not.toThrow();
  });
  it('nothing appears that was never there', () => {
    const { m } = fileWithHistory();
    expect(() => checkAfterCrash(m, tree([['/mnt/x', { kind: 'file', data: bytes() }]]))).toThrow(/no file was ever there/);
    expect(() => checkAfterCrash(m, tree([['/mnt/f', { kind: 'dir' }]]))).toThrow(/no dir was ever there/);
  });
});
