/**
 * What the qcow2 interop suites share: open an image file through iopath's qcow2 driver in
 * a graph of its own, read the whole guest disk, and ask qemu-img for the same disk (or a
 * snapshot's) as raw bytes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { blockErrorMessage, BlockGraph, type BlockDriverState } from '../../host/storage/index.js';
import { newBlockEnv } from '../../host/storage/testing.js';
import { runPeer } from '../peers/debian-peers.js';

/** `file` as qcow2 in a new graph (`extra`: more options of the qcow2 node); the node and the graph to close. */
export function openQcow2(file: string, extra: Record<string, unknown> = {}): { bs: BlockDriverState; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', file: { driver: 'file', filename: file }, ...extra });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, graph };
}

/** The whole guest disk as iopath reads it. */
export function readAll(bs: BlockDriverState): Uint8Array {
  const out = new Uint8Array(bs.getLength());
  const err = bs.preadv(0, out, { ns: 0 });
  if (err) throw new Error(err.message);
  return out;
}

let seq = 0;

/** The guest disk (or snapshot `snapshot` of it) as qemu-img sees it: `qemu-img convert -O raw`. */
export function qemuRaw(img: string, snapshot?: string): Uint8Array {
  const raw = `${img}.${seq++}.raw`;
  runPeer('qemu-img', ['convert', ...(snapshot ? ['-l', `snapshot.name=${snapshot}`] : []), '-O', 'raw', img, raw]);
  const b = new Uint8Array(readFileSync(raw));
  rmSync(raw);
  return b;
}

/** What `qemu-img check --output=json` counts. */
export interface QemuCheck {
  corruptions: number;
  leaks: number;
  'check-errors': number;
}

/** `qemu-img check --output=json` (with `-r` when `repair` is given): its counts. */
export function qemuCheck(img: string, repair?: 'all' | 'leaks'): QemuCheck {
  const r = spawnSync('qemu-img', ['check', '--output=json', ...(repair ? ['-r', repair] : []), img], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as Partial<QemuCheck>;
  return { corruptions: j.corruptions ?? 0, leaks: j.leaks ?? 0, 'check-errors': j['check-errors'] ?? 0 };
}
