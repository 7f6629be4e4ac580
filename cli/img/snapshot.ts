/**
 * `iopath img snapshot`: qemu-img snapshot [-l | -a snapshot | -c snapshot | -d snapshot]
 * [-q] [-U] filename, through the format's `snapshots` hooks. The format is always
 * probed (this command has no -f).
 */
import * as E from 'fp-ts/lib/Either.js';
import { blockErrorMessage } from '../../host/storage/errors.js';
import { closeImage, errorExit, FORCE_SHARE_OPT, IMAGE_OPTS_OPT, OBJECT_OPT, open, parseArgs, probedRawWarning } from './common.js';
import { out, report } from './output.js';
import { snapshotTable } from './snapshot-format.js';

type Action = { readonly kind: 'list' } | { readonly kind: 'create' | 'apply' | 'delete'; readonly name: string };

const ACTIONS: Readonly<Record<string, 'list' | 'create' | 'apply' | 'delete'>> = { l: 'list', c: 'create', a: 'apply', d: 'delete' };

export function runSnapshot(argv: readonly string[]): number {
  const p = parseArgs(argv, 'la:c:d:qU', [OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  let action: Action | undefined;
  for (const o of p.right.opts) {
    const kind = ACTIONS[o.key];
    if (!kind) continue;
    if (action) return errorExit("Cannot mix '-l', '-a', '-c', '-d'");
    action = kind === 'list' ? { kind } : { kind, name: o.arg! };
  }
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  const filename = p.right.operands[0];
  const img = open(filename, undefined, action?.kind !== 'list');
  if (!img) return 1;
  const { bs } = img;
  const ops = bs.drv.snapshots;
  if (!action) return closeImage(img, 0);
  if (action.kind === 'list') {
    const list = ops?.list(bs.opaque) ?? [];
    if (list.length > 0) out(`Snapshot list:\n${snapshotTable(list)}`);
    return closeImage(img, 0);
  }
  const name = action.name;
  if (action.kind === 'create') {
    if (!ops) return report(`Could not create snapshot '${name}': -95 (Operation not supported)`), closeImage(img, 1);
    const now = Date.now();
    const err = ops.create(bs.opaque, { name, vmStateSize: 0, dateSec: Math.floor(now / 1000), dateNsec: (now % 1000) * 1e6, vmClockNs: 0 });
    if (err) return report(`Could not create snapshot '${name}': ${blockErrorMessage(err)}`), closeImage(img, 1);
    return closeImage(img, 0);
  }
  if (action.kind === 'apply') {
    if (!ops) {
      // qemu-img 7.2 warns about the probed raw format a second time on this path.
      if (img.probedRaw) probedRawWarning(filename);
      return report(`Could not apply snapshot '${name}': Block driver does not support snapshots`), closeImage(img, 1);
    }
    const err = ops.goto(bs.opaque, name);
    if (err) return report(`Could not apply snapshot '${name}': ${blockErrorMessage(err)}`), closeImage(img, 1);
    return closeImage(img, 0);
  }
  // bdrv_snapshot_find: qemu-img 7.2 deletes by name only ('-d 1' does not find ID 1).
  const found = ops?.list(bs.opaque).find((s) => s.name === name);
  if (!ops || !found) return report(`Could not delete snapshot '${name}': snapshot not found`), closeImage(img, 1);
  const err = ops.delete(bs.opaque, found.id, found.name);
  if (err) return report(`Could not delete snapshot '${name}': ${blockErrorMessage(err)}`), closeImage(img, 1);
  return closeImage(img, 0);
}
