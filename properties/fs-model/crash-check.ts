/**
 * What may be found after a power cut, from the model's history (model.ts):
 *
 * - a file holds, since its last successful fsync, a state it could have reached: its
 *   size is the size of one of its versions from that fsync on (the version the fsync
 *   covered, or a later one), and each byte is that byte of one of those versions — or
 *   zero where one of them did not reach that far. A file never fsynced may hold any of
 *   its versions' bytes, or zeroes. So no byte that was never written to a file appears
 *   in it, and what an fsync covered is there unless a later call changed it;
 * - every path found was, at some time, bound to a node of that kind — and a file there
 *   matches one of the files ever bound there;
 * - an entry whose directory was fsynced after the entry last changed (and the same for
 *   every directory above it) is there, bound to that node.
 *
 * The call in flight when the power went may or may not have happened: the commands put
 * its effect in the model before making the call, so its version is one of the candidates.
 */
import { LOST_FOUND, ROOT, parentOf, type FileNode, type FsModel, type Node } from './model.js';
import type { TreeEntry } from './tree.js';

/** Why `data` cannot be the crash state of `f` (undefined: it can). */
export function fileMismatch(f: FileNode, data: Uint8Array): string | undefined {
  const from = f.fsynced ?? 0;
  const vs = f.versions.slice(from);
  const sizes = [...new Set(vs.map((v) => v.length))];
  if (!sizes.includes(data.length)) {
    return `file #${f.id}: ${data.length} bytes, but since ${f.fsynced === undefined ? 'its creation' : `its last fsync (version ${from})`} it has had only sizes ${sizes.join(', ')}`;
  }
  const shortest = Math.min(...vs.map((v) => v.length));
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === 0 && i >= shortest) continue;
    let seen = false;
    for (const v of vs) if (i < v.length && v[i] === b) seen = true;
    if (!seen) return `file #${f.id}: byte ${i} is ${b}, which no version since ${f.fsynced === undefined ? 'its creation' : `its last fsync (version ${from})`} had there`;
  }
  return undefined;
}

/** Is the entry at `p` required after the crash (it and every directory above it made durable)? */
function required(m: FsModel, p: string): boolean {
  for (let at = p; at !== ROOT; at = parentOf(at)) if (!m.durable.has(at)) return false;
  return true;
}

/** Throw naming the first thing the tree found after a crash could not be. */
export function checkAfterCrash(m: FsModel, tree: ReadonlyMap<string, TreeEntry>): void {
  for (const [p, t] of tree) {
    if (p === LOST_FOUND) continue;
    const ever = [...(m.everAt.get(p) ?? [])].filter((n) => n.kind === t.kind);
    if (ever.length === 0) throw new Error(`after the crash ${p} is a ${t.kind}, and no ${t.kind} was ever there`);
    if (t.kind !== 'file') continue;
    const why = ever.map((n) => fileMismatch(n as FileNode, t.data));
    if (why.every((w) => w !== undefined)) throw new Error(`after the crash ${p} (${t.data.length} bytes) is none of the files that were there: ${why.join('; ')}`);
  }
  for (const [p, n] of m.durable) {
    if (!required(m, p)) continue;
    const t = tree.get(p);
    if (!t) throw new Error(`after the crash ${p} is gone, though its directory was fsynced after it was made`);
    if (t.kind !== n.kind) throw new Error(`after the crash ${p} is a ${t.kind}; its directory was fsynced when it was a ${n.kind}`);
    if (t.kind === 'file') {
      const why = fileMismatch(n as FileNode & Node, t.data);
      if (why) throw new Error(`after the crash ${p}, whose directory was fsynced: ${why}`);
    }
  }
}
