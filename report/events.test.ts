import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseEvent, parseEvents } from './events.js';

describe('scripted events (iopath run --event)', () => {
  it('reads a time with its unit and a QMP command', () => {
    expect(parseEvent('2ms device_add scsi-hd,bus=scsi0.0,drive=d1,id=hot1')).toEqual(E.right({ atNs: 2e6, cmd: 'device_add', text: 'scsi-hd,bus=scsi0.0,drive=d1,id=hot1' }));
    expect(parseEvent('1.5us device_del hot1')).toEqual(E.right({ atNs: 1500, cmd: 'device_del', id: 'hot1' }));
    expect(parseEvent('700 device_del x')).toEqual(E.right({ atNs: 700, cmd: 'device_del', id: 'x' }));
    expect(parseEvent('3ms stop')).toEqual(E.right({ atNs: 3e6, cmd: 'stop' }));
    expect(parseEvent(' 1s cont ')).toEqual(E.right({ atNs: 1e9, cmd: 'cont' }));
  });

  it('refuses what it cannot read, naming the event', () => {
    for (const bad of ['device_del x', '2ms', '2ms device_reset x', '-1ms device_del x', '2ms device_del a b', '7200s device_del x', '2ms stop now', '2ms device_del', '1ms cont x']) {
      const r = parseEvent(bad);
      expect(E.isLeft(r) && r.left).toContain(`'${bad}'`);
    }
    expect(E.isLeft(parseEvents(['1ms device_del a', 'oops']))).toBe(true);
  });
});
