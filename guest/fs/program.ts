/**
 * I/O programs: mkfs, mount and journal replay are written once, as generators that yield the
 * reads and writes they need, and run either over an FsBlockIo (an Observable, on whatever
 * scheduler the caller's io uses) or synchronously over a byte image (fsck, tests).
 */
import * as E from 'fp-ts/lib/Either.js';
import { forkJoin, map, Observable, of, type Subscription } from 'rxjs';
import type { FsBlockIo, WriteStep } from './block-io.js';
import { fsError, type FsError } from './errno.js';

export type IoRequest =
  | { readonly kind: 'read'; readonly blocks: readonly number[] }
  | { readonly kind: 'write'; readonly step: WriteStep }
  | { readonly kind: 'blockSize'; readonly size: number };

/** A program yields requests and receives, for a read, the blocks it asked for. */
export type IoProgram<R> = Generator<IoRequest, E.Either<FsError, R>, ReadonlyMap<number, Uint8Array>>;

const NOTHING: ReadonlyMap<number, Uint8Array> = new Map();

/** Reads `blocks` and returns them by number (a helper for `yield*`). */
export function* readBlocks(blocks: Iterable<number>): Generator<IoRequest, ReadonlyMap<number, Uint8Array>, ReadonlyMap<number, Uint8Array>> {
  const list = [...new Set(blocks)].sort((a, b) => a - b);
  if (list.length === 0) return NOTHING;
  return yield { kind: 'read', blocks: list };
}

export function* readBlock(block: number): Generator<IoRequest, Uint8Array, ReadonlyMap<number, Uint8Array>> {
  const m = yield* readBlocks([block]);
  return m.get(block) as Uint8Array;
}

/** Runs a program over a byte image, synchronously. Out-of-range accesses are EIO. */
export function runOnImage<R>(prog: IoProgram<R>, image: Uint8Array): E.Either<FsError, R> {
  let bs = 1024;
  let input: ReadonlyMap<number, Uint8Array> = NOTHING;
  for (;;) {
    const r = prog.next(input);
    if (r.done) return r.value;
    const req = r.value;
    input = NOTHING;
    if (req.kind === 'blockSize') bs = req.size;
    else if (req.kind === 'read') {
      const m = new Map<number, Uint8Array>();
      for (const b of req.blocks) {
        if (b < 0 || (b + 1) * bs > image.length) return E.left(fsError('EIO', `I/O error reading block ${b}: beyond the end of the device`));
        m.set(b, image.slice(b * bs, (b + 1) * bs));
      }
      input = m;
    } else {
      for (const w of req.step.writes) {
        if (w.block < 0 || w.block * bs + w.data.length > image.length)
          return E.left(fsError('EIO', `I/O error writing block ${w.block}: beyond the end of the device`));
        image.set(w.data, w.block * bs);
      }
    }
  }
}

/** Contiguous runs of sorted block numbers, at most `max` blocks each. */
function runs(blocks: readonly number[], max = 64): [number, number][] {
  const out: [number, number][] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === b && last[1] < max) last[1]++;
    else out.push([b, 1]);
  }
  return out;
}

function readOnIo(io: FsBlockIo, blocks: readonly number[]): Observable<E.Either<FsError, ReadonlyMap<number, Uint8Array>>> {
  if (blocks.length === 0) return of(E.right(NOTHING));
  const rs = runs(blocks);
  return forkJoin(rs.map(([start, n]) => io.read(start, n))).pipe(
    map((results) => {
      const m = new Map<number, Uint8Array>();
      const bs = io.blockSize;
      for (let i = 0; i < rs.length; i++) {
        const r = results[i];
        const [start, n] = rs[i];
        if (E.isLeft(r)) return E.left(fsError(r.left, `I/O error reading blocks ${start}..${start + n - 1}`));
        for (let k = 0; k < n; k++) m.set(start + k, r.right.slice(k * bs, (k + 1) * bs));
      }
      return E.right(m as ReadonlyMap<number, Uint8Array>);
    }),
  );
}

/**
 * Runs a program over an FsBlockIo: each request is issued when the previous one emitted. The
 * result emits once and completes; unsubscribing abandons the program.
 */
export function runOnIo<R>(prog: IoProgram<R>, io: FsBlockIo): Observable<E.Either<FsError, R>> {
  return new Observable((sub) => {
    let inner: Subscription | undefined;
    let closed = false;
    const step = (input: ReadonlyMap<number, Uint8Array>): void => {
      for (;;) {
        if (closed) return;
        const r = prog.next(input);
        if (r.done) {
          sub.next(r.value);
          sub.complete();
          return;
        }
        const req = r.value;
        if (req.kind === 'blockSize') {
          io.setBlockSize(req.size);
          input = NOTHING;
          continue;
        }
        const obs: Observable<E.Either<FsError, ReadonlyMap<number, Uint8Array>>> =
          req.kind === 'read'
            ? readOnIo(io, req.blocks)
            : io.write(req.step.writes, req.step.barrier).pipe(
                map((w) => (E.isLeft(w) ? E.left(fsError(w.left, `I/O error writing ${req.step.what} blocks`)) : E.right(NOTHING))),
              );
        inner = obs.subscribe({
          next: (res) => {
            if (E.isLeft(res)) {
              sub.next(res);
              sub.complete();
            } else step(res.right);
          },
          error: (err: unknown) => sub.error(err),
        });
        return;
      }
    };
    step(NOTHING);
    return () => {
      closed = true;
      inner?.unsubscribe();
    };
  });
}
