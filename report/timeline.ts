/**
 * Trace views: a text timeline of events (the teaching view of what happened, layer by
 * layer, with virtual timestamps) and the Chrome trace-event JSON that Perfetto and
 * chrome://tracing open (one track per execution context, exits and interrupts as
 * instant events).
 */
import type { TraceEvent } from '../sim/trace.js';
import { fmtNs } from './format.js';

/** One line of text per event, `t` relative to `origin`. */
export function renderEvent(e: TraceEvent, origin = 0): string {
  const t = `+${fmtNs(e.t - origin)}`.padStart(11);
  switch (e.kind) {
    case 'phase':
      return `${t}  ---- phase ${e.name} ----`;
    case 'io-submit':
      return `${t}  guest blk-mq   ${e.dev} #${e.tag} submit ${e.op} sector ${e.sector} +${e.sectors}`;
    case 'io-dispatch':
      return `${t}  guest blk-mq   ${e.dev} #${e.tag} → queue_rq on hw queue ${e.hwq}${e.last ? ' (last of batch)' : ''}`;
    case 'kick':
      return `${t}  guest virtio   ${e.dev} vq ${e.vq} kick_prepare: ${e.notify ? 'notify the device' : 'suppressed (device will see it)'}`;
    case 'exit':
      return `${t}  vcpu${e.vcpu} EXIT    ${e.reason} (${e.purpose}) → ${e.handler === 'kvm' ? 'handled in KVM' : `${e.userspaceExit ?? 'exit'} to QEMU`}, ${fmtNs(e.costNs)}`;
    case 'notify':
      return `${t}  QEMU           ${e.dev} vq ${e.vq} notified via ${e.via}`;
    case 'device-request':
      return `${t}  QEMU device    ${e.dev} vq ${e.vq} head ${e.head}: ${e.type} sector ${e.sector}, ${e.bytes} bytes`;
    case 'block':
      return `${t}  block layer    ${e.node} ${e.op} @${e.offset} ${e.bytes} bytes, ${fmtNs(e.latencyNs)}${e.ok ? '' : ' FAILED'}`;
    case 'device-complete':
      return `${t}  QEMU device    ${e.dev} vq ${e.vq} head ${e.head} done: ${e.status}`;
    case 'used':
      return `${t}  QEMU virtio    ${e.dev} vq ${e.vq} pushed ${e.n} used: ${e.interrupt ? 'interrupt the guest' : 'interrupt suppressed'}`;
    case 'irq':
      return `${t}  KVM            inject vector 0x${e.vector.toString(16)} into vcpu${e.vcpu} via ${e.path} (${e.vcpuState}${e.posted ? ', posted' : ''})`;
    case 'io-complete':
      return `${t}  guest blk-mq   ${e.dev} #${e.tag} complete ${e.op}: ${e.status}, latency ${fmtNs(e.latencyNs)}`;
    case 'device-error':
      return `${t}  QEMU device    ${e.dev} vq ${e.vq} ERROR: ${e.message} (NEEDS_RESET)`;
    case 'work':
      return `${t}  ${e.ctx.padEnd(14)} busy ${fmtNs(e.durNs)}: ${e.what}`;
    case 'pagecache': {
      const range = e.pages === 1 ? `page ${e.index}` : `pages ${e.index}..${e.index + e.pages - 1}`;
      if (e.what === 'throttle') return `${t}  guest pagecache ${e.mapping} writer throttled at page ${e.index}: ${e.pages} pages over the dirty limit`;
      return `${t}  guest pagecache ${e.mapping} ${e.what} ${range}${e.reason ? ` (${e.reason})` : ''}`;
    }
    case 'bio':
      return `${t}  guest block    ${e.dev} bio ${e.bio} ${e.op} sector ${e.sector} +${e.sectors}${e.flags ? ` [${e.flags}]` : ''} from task ${e.task}`;
    case 'bio-split':
      return `${t}  guest block    ${e.dev} bio ${e.bio} split into ${e.parts} parts (queue limits)`;
    case 'rq-alloc':
      return `${t}  guest block    ${e.dev} #${e.tag} request for ${e.op} sector ${e.sector} +${e.sectors} (cpu${e.cpu})`;
    case 'merge':
      return `${t}  guest block    ${e.dev} #${e.tag} ${e.where === 'plug' ? 'plug' : 'scheduler'} ${e.dir} merge of a ${e.what === 'bio' ? 'bio' : 'request'} (+${e.sectors} sectors)`;
    case 'plug-flush':
      return `${t}  guest block    ${e.dev} task ${e.task} plug flushed: ${e.requests} request${e.requests === 1 ? '' : 's'} (${e.reason})`;
    case 'sched':
      return `${t}  guest block    ${e.dev} #${e.tag} ${e.sched} ${e.action}`;
    case 'flush':
      return `${t}  guest block    ${e.dev} #${e.tag} flush issued on hw queue ${e.hwq} for ${e.waiting} waiting request${e.waiting === 1 ? '' : 's'}`;
    case 'rq-timeout':
      return `${t}  guest block    ${e.dev} #${e.tag} timed out: ${e.action === 'done' ? 'the driver ended it' : 'timer reset'}`;
    case 'syscall':
      return e.phase === 'enter'
        ? `${t}  guest syscall  pid ${e.pid} ${e.name}(${e.args ?? ''})`
        : `${t}  guest syscall  pid ${e.pid} ${e.name} = ${typeof e.ret === 'string' ? `-${e.ret}` : (e.ret ?? 0)}`;
    case 'block-io-error':
      return `${t}  qemu block     ${e.dev} (${e.node}) ${e.operation} error ${e.reason}${e.nospace ? ' (no space)' : ''}: ${e.action}`;
    case 'runstate':
      return `${t}  vm             ${e.state === 'running' ? 'resumed' : `stopped (${e.state})`}`;
    case 'note':
      return `${t}  ${e.where.padEnd(14)} ${e.text}`;
  }
}

export function renderTimeline(events: readonly TraceEvent[], opts: { withWork?: boolean; origin?: number } = {}): string {
  const origin = opts.origin ?? events[0]?.t ?? 0;
  // Work is reported when it ends but stamped with its start: order by time (stable) to read it.
  return events
    .filter((e) => opts.withWork || e.kind !== 'work')
    .map((e, i) => [e, i] as const)
    .sort((a, b) => a[0].t - b[0].t || a[1] - b[1])
    .map(([e]) => e)
    .map((e) => renderEvent(e, origin))
    .join('\n');
}

/** Chrome trace-event format: `X` (complete) events for work, `i` (instant) for the rest; times in µs. */
export function chromeTrace(events: readonly TraceEvent[]): object {
  const tids = new Map<string, number>();
  const tid = (name: string): number => {
    let t = tids.get(name);
    if (t === undefined) tids.set(name, (t = tids.size + 1));
    return t;
  };
  const out: object[] = [];
  for (const e of events) {
    const ts = e.t / 1000;
    if (e.kind === 'work') out.push({ name: e.what, ph: 'X', ts, dur: e.durNs / 1000, pid: 1, tid: tid(e.ctx) });
    else if (e.kind === 'exit') out.push({ name: `${e.reason} (${e.purpose})`, cat: 'exit', ph: 'X', ts, dur: e.costNs / 1000, pid: 1, tid: tid(`vcpu${e.vcpu} exits`), args: { handler: e.handler, userspaceExit: e.userspaceExit } });
    else out.push({ name: e.kind, ph: 'i', s: 't', ts, pid: 1, tid: tid('events'), args: e });
  }
  for (const [name, t] of tids) out.push({ name: 'thread_name', ph: 'M', pid: 1, tid: t, args: { name } });
  return { traceEvents: out, displayTimeUnit: 'ns' };
}
