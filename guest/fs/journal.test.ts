/**
 * The journal on its own: a commit plan's exact blocks, escaping, replay of what a plan wrote
 * (and nothing of an uncommitted tail or of stale blocks), revokes, and the log wrapping round.
 */
import { describe, expect, it } from 'vitest';
import { planWrites, type BlockWrite } from './block-io.js';
import { be32, setBe32 } from './bytes.js';
import {
  decodeDescriptorTags,
  decodeHeader,
  decodeJournalSuperblock,
  JBD2_COMMIT_BLOCK,
  JBD2_DESCRIPTOR_BLOCK,
  JBD2_FEATURE_INCOMPAT_REVOKE,
  JBD2_FLAG_ESCAPE,
  JBD2_MAGIC,
  JBD2_REVOKE_BLOCK,
  JBD2_SUPERBLOCK_V2,
  type JournalSuperblock,
} from './journal-format.js';
import { Journal } from './journal.js';
import { lastWrites, planReplay } from './replay.js';

const BS = 1024;
const LEN = 64;
const BASE = 1000; // journal block i is disk block BASE + i

function setup(): { j: Journal; disk: Map<number, Uint8Array>; bufs: Map<number, Uint8Array> } {
  const jsb: JournalSuperblock = {
    header: { magic: JBD2_MAGIC, blockType: JBD2_SUPERBLOCK_V2, sequence: 0 },
    blockSize: BS, maxLen: LEN, first: 1, sequence: 7, start: 0, errno: 0, featureCompat: 0,
    featureIncompat: JBD2_FEATURE_INCOMPAT_REVOKE, featureRoCompat: 0, uuid: new Uint8Array(16).fill(9),
    nrUsers: 1, maxTransaction: 0, maxTransData: 0,
  };
  const map = Array.from({ length: LEN }, (_, i) => BASE + i);
  return { j: new Journal({ blockSize: BS, map, jsb, maxCredits: 10, now: () => 42e9 }), disk: new Map(), bufs: new Map() };
}

const put = (disk: Map<number, Uint8Array>, ws: BlockWrite[]): void => ws.forEach((w) => disk.set(w.block, w.data));
const jsbOf = (disk: Map<number, Uint8Array>): JournalSuperblock => decodeJournalSuperblock(disk.get(BASE) as Uint8Array);
const replay = (disk: Map<number, Uint8Array>) =>
  planReplay(jsbOf(disk), (pos) => disk.get(BASE + pos), (b) => b < BASE);

function dirty(s: ReturnType<typeof setup>, block: number, fill: number): void {
  s.bufs.set(block, new Uint8Array(BS).fill(fill));
  s.j.dirty(block);
}

describe('journal', () => {
  it('commits as [jsb, descriptor, copies] --flush--> [commit] --fua-->, and replays exactly that', () => {
    const s = setup();
    dirty(s, 10, 1);
    dirty(s, 20, 2);
    const magicBlock = new Uint8Array(BS).fill(3);
    setBe32(magicBlock, 0, JBD2_MAGIC); // must be escaped in the log
    s.bufs.set(30, magicBlock);
    s.j.dirty(30);
    const plan = s.j.commit((b) => s.bufs.get(b) as Uint8Array);
    expect(plan.lastTid).toBe(7);
    expect(plan.steps.map((x) => [x.what, x.barrier, x.writes.map((w) => w.block)])).toEqual([
      ['journal', 'flush', [BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4]],
      ['commit', 'fua', [BASE + 5]],
    ]);
    const [jsbW, desc, c10, , c30] = plan.steps[0].writes;
    expect(decodeJournalSuperblock(jsbW.data)).toMatchObject({ start: 1, sequence: 7 });
    expect(decodeHeader(desc.data)).toEqual({ magic: JBD2_MAGIC, blockType: JBD2_DESCRIPTOR_BLOCK, sequence: 7 });
    expect(decodeDescriptorTags(desc.data).map((t) => [t.blockNr, t.flags & JBD2_FLAG_ESCAPE])).toEqual([[10, 0], [20, 0], [30, 1]]);
    expect(c10.data[0]).toBe(1);
    expect(be32(c30.data, 0)).toBe(0);
    expect(decodeHeader(plan.steps[1].writes[0].data).blockType).toBe(JBD2_COMMIT_BLOCK);
    // Replay what reached the disk: everything, or everything but the commit block.
    const disk = new Map<number, Uint8Array>();
    put(disk, plan.steps[0].writes);
    expect(replay(disk)).toMatchObject({ writes: [], transactions: 0, endSequence: 7 });
    put(disk, plan.steps[1].writes);
    const r = replay(disk);
    expect(r.transactions).toBe(1);
    expect(lastWrites(r.writes).map((w) => [w.block, w.data])).toEqual([[10, s.bufs.get(10)], [20, s.bufs.get(20)], [30, magicBlock]]);
  });

  it('copies blocks when a transaction closes: later changes belong to the next one', () => {
    const s = setup();
    dirty(s, 10, 1);
    s.j.close((b) => s.bufs.get(b) as Uint8Array);
    (s.bufs.get(10) as Uint8Array).fill(5);
    s.j.dirty(10);
    const plan = s.j.commit((b) => s.bufs.get(b) as Uint8Array);
    expect(plan.steps.filter((x) => x.what === 'commit')).toHaveLength(2);
    const disk = new Map<number, Uint8Array>();
    put(disk, plan.steps[0].writes);
    put(disk, plan.steps[1].writes);
    expect(lastWrites(replay(disk).writes)[0].data[0]).toBe(1); // crash after the first commit
    put(disk, planWrites(plan));
    expect(lastWrites(replay(disk).writes)[0].data[0]).toBe(5);
  });

  it('revokes a freed logged block so an older copy is not replayed over new data', () => {
    const s = setup();
    dirty(s, 10, 1);
    const disk = new Map<number, Uint8Array>();
    put(disk, planWrites(s.j.commit((b) => s.bufs.get(b) as Uint8Array)));
    s.j.forget(10);
    dirty(s, 11, 2);
    const plan = s.j.commit((b) => s.bufs.get(b) as Uint8Array);
    expect(decodeHeader(plan.steps[0].writes[0].data).blockType).toBe(JBD2_REVOKE_BLOCK);
    put(disk, planWrites(plan));
    const r = replay(disk);
    expect(r.transactions).toBe(2);
    expect(lastWrites(r.writes).map((w) => w.block)).toEqual([11]);
  });

  it('wraps round the log, checkpointing first when the next transaction does not fit', () => {
    const s = setup();
    const disk = new Map<number, Uint8Array>();
    for (let round = 0; round < 30; round++) {
      for (let k = 0; k < 5; k++) dirty(s, 100 + ((round * 5 + k) % 40), round);
      const plan = s.j.commit((b) => s.bufs.get(b) as Uint8Array);
      put(disk, planWrites(plan));
      // Home blocks as a crash now would leave them after replay: checkpointed + replayed.
      const home = new Map([...disk].filter(([b]) => b < BASE));
      for (const w of lastWrites(replay(disk).writes)) home.set(w.block, w.data);
      for (const [b, data] of s.bufs) expect(home.get(b), `block ${b} after round ${round}`).toEqual(data);
    }
    expect(jsbOf(disk).sequence).toBeGreaterThan(7);
    put(disk, planWrites({ steps: s.j.checkpoint() }));
    expect(jsbOf(disk)).toMatchObject({ start: 0, sequence: 37 });
  });
});
