/**
 * What a blkdebug node does with its rules (block/blkdebug.c blkdebug_co_debug_event and
 * rule_check), apart from the driver table:
 *
 * - an event runs the rules listed for it whose `state` is 0 or the current state. The
 *   first inject-error rule among them replaces the armed set; each one that applies is
 *   armed. A set-state rule sets the state the node moves to when the event is done (so
 *   every rule of one event sees the same state). QEMU lists an event's rules newest
 *   first, so of several set-state rules the one given first wins.
 * - a request checks the armed rules in the order they were given: the first whose I/O
 *   type matches and that covers its `sector` (or has none) decides. errno=0 fails
 *   nothing; `once` disarms and deletes the rule as it fires.
 *
 * Every event is counted, whether or not a rule listens (`eventCount`), so tests can see
 * which events a format driver above announced.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import { ioError, STRERROR } from '../../errors.js';
import type { BlkdebugEvent } from '../../image-api.js';
import type { BlkdebugIoType, BlkdebugRule, InjectErrorRule } from './rules.js';

export class BlkdebugEngine {
  /** Rules by event, in the order they were given. */
  private readonly rules = new Map<BlkdebugEvent, BlkdebugRule[]>();
  /** The armed inject-error rules, in the order they were given. */
  private active: InjectErrorRule[] = [];
  private readonly counts = new Map<BlkdebugEvent, number>();
  /** The state machine's state; rules with `state` 0 apply in any. */
  state = 1;

  constructor(
    private readonly nodeName: string,
    rules: readonly BlkdebugRule[],
    /** Modelled time of completing an error through the event loop (not `immediately`). */
    private readonly deferNs: number,
  ) {
    for (const r of rules) {
      const list = this.rules.get(r.event);
      if (list) list.push(r);
      else this.rules.set(r.event, [r]);
    }
  }

  /** How many times `event` happened at this node. */
  eventCount(event: BlkdebugEvent): number {
    return this.counts.get(event) ?? 0;
  }

  /** The inject-error rules armed now. */
  get armed(): readonly InjectErrorRule[] {
    return this.active;
  }

  /** bdrv_debug_event: run the rules of `event`. */
  event(event: BlkdebugEvent): void {
    this.counts.set(event, this.eventCount(event) + 1);
    const list = this.rules.get(event);
    if (!list) return;
    let newState = this.state;
    let armed: InjectErrorRule[] | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i];
      if (r.state !== 0 && r.state !== this.state) continue;
      if (r.action === 'set-state') newState = r.newState;
      else (armed ??= []).unshift(r);
    }
    if (armed) this.active = armed;
    this.state = newState;
  }

  /**
   * rule_check: the error an armed rule gives this request, or null. `bytes` is 0 for a
   * flush, which only rules without a sector match. Adds the modelled time of the failure.
   */
  check(iotype: BlkdebugIoType, offset: number, bytes: number, acct: { ns: number }): BlockIoError | null {
    const rule = this.active.find((r) => r.iotypes.has(iotype) && (r.offset < 0 || (bytes > 0 && r.offset >= offset && r.offset < offset + bytes)));
    if (!rule || rule.error === null) return null;
    if (rule.once) {
      this.active = this.active.filter((r) => r !== rule);
      const list = this.rules.get(rule.event) ?? [];
      const at = list.indexOf(rule);
      if (at >= 0) list.splice(at, 1);
    }
    if (!rule.immediately) acct.ns += this.deferNs;
    const what = iotype === 'flush' ? 'flush' : `${iotype} of ${bytes} bytes at offset ${offset}`;
    return ioError(rule.error, `${this.nodeName}: blkdebug: ${what}: ${STRERROR[rule.error]} (injected after event '${rule.event}')`);
  }
}
