/**
 * A path selector (drivers/md/dm-path-selector.h, struct path_selector_type): the policy
 * that picks which of a priority group's usable paths the next I/O takes. The multipath
 * target tells it what happens to paths (added, failed, reinstated, removed) and to I/O
 * (started, ended); it only ever chooses among paths it holds as valid.
 *
 * Selectors register by name, as dm's do (`path_selector "round-robin 0"` in
 * multipath.conf): selectors.ts.
 */
export interface PathSelector<P> {
  /** The name multipath.conf and the table use ("round-robin 0"). */
  readonly name: string;
  /** A new path, valid. */
  add(p: P): void;
  /** The path failed: never selected until reinstated. */
  fail(p: P): void;
  /** A failed path works again. */
  reinstate(p: P): void;
  /** The path is gone from the map. */
  remove(p: P): void;
  /** The path for an I/O of `bytes`, or undefined when no valid path is left. */
  select(bytes: number): P | undefined;
  /** An I/O of `bytes` went out on `p` (ps->type->start_io). */
  startIo(p: P, bytes: number): void;
  /** It came back, well or not (ps->type->end_io). */
  endIo(p: P, bytes: number): void;
  /** Valid paths, in the selector's current order. */
  readonly valid: readonly P[];
}

/** Moves `p` to the end of `list` (list_move_tail). */
export function moveTail<P>(list: P[], p: P): void {
  const i = list.indexOf(p);
  if (i < 0) return;
  list.splice(i, 1);
  list.push(p);
}

/** Takes `p` out of `list` if it is there; true when it was. */
export function takeOut<P>(list: P[], p: P): boolean {
  const i = list.indexOf(p);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
