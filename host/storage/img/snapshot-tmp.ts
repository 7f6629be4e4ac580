/**
 * `qemu-img convert -l`: the source read as one of its internal snapshots
 * (block/snapshot.c bdrv_snapshot_load_tmp, bdrv_snapshot_load_tmp_by_id_or_name). The
 * node must be read-only; its format switches to the snapshot's tables in memory only
 * (the disk size stays the image's).
 *
 * `-l snapshot.id=I,snapshot.name=N` names a snapshot by ID, name or both (both must
 * then match: find_snapshot_by_id_and_name); `-l X` tries X as an ID, then as a name.
 */
import * as E from 'fp-ts/lib/Either.js';
import { blockErrorMessage } from '../errors.js';
import type { BlockDriverState } from '../node.js';
import { refused, type ImgError } from './errors.js';

export type SnapshotRef = { readonly kind: 'id-or-name'; readonly idOrName: string } | { readonly kind: 'opts'; readonly id?: string; readonly name?: string };

const failed = (why: string): ImgError => refused(`Failed to load snapshot: ${why}`);

/** Switch the read-only `bs` to the snapshot `ref` names. */
export function loadSnapshotTmp(bs: BlockDriverState, ref: SnapshotRef): E.Either<ImgError, void> {
  if (ref.kind === 'opts' && ref.id === undefined && ref.name === undefined) return E.left(failed('snapshot_id and name are both NULL'));
  if (!bs.readOnly) return E.left(failed('Device is not readonly'));
  const ops = bs.drv.snapshots;
  if (!ops) return E.left(failed(`Block format '${bs.drv.formatName}' used by device '' does not support temporarily loading internal snapshots`));
  let key: string | undefined;
  if (ref.kind === 'id-or-name') {
    key = ref.idOrName;
  } else {
    const list = ops.list(bs.opaque);
    const found = list.find((s) => (ref.id === undefined || s.id === ref.id) && (ref.name === undefined || s.name === ref.name));
    if (!found) return E.left(failed("Can't find snapshot"));
    // The ID names it alone (the driver tries IDs first).
    key = found.id;
  }
  const err = ops.loadTmp(bs.opaque, key);
  return err ? E.left(failed(err._tag === 'DriverError' ? err.message : blockErrorMessage(err))) : E.right(undefined);
}

/**
 * The -l argument: "snapshot.id=..,snapshot.name=.." (QEMU's internal_snapshot_opts) or a
 * bare ID or name. Left is qemu-img's messages for a bad parameter list.
 */
export function parseSnapshotArg(arg: string): E.Either<readonly string[], SnapshotRef> {
  if (!arg.startsWith('snapshot.')) return E.right({ kind: 'id-or-name', idOrName: arg });
  const values: { id?: string; name?: string } = {};
  for (const part of splitOpts(arg)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? 'on' : part.slice(eq + 1);
    if (key === 'snapshot.id') values.id = value;
    else if (key === 'snapshot.name') values.name = value;
    else return E.left([`Invalid parameter '${key}'`, `Failed in parsing snapshot param '${arg}'`]);
  }
  return E.right({ kind: 'opts', ...values });
}

/** A QemuOpts list split at single commas (",," is a literal comma). */
function splitOpts(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',' && s[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (s[i] === ',') {
      parts.push(cur);
      cur = '';
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}
