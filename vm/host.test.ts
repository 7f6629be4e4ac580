import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../hw/memory.js';
import { CostModel } from '../sim/costs.js';
import { Simulator } from '../sim/simulator.js';
import { Trace } from '../sim/trace.js';
import { vmErrorMessage } from './errors.js';
import { buildHost, type Host } from './host.js';
import { specOf } from './cmdline/test-helpers.js';

const DISK = ['-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M'];

function hostOf(argv: readonly string[]): Host {
  const spec = specOf(argv);
  const h = buildHost(spec, new Simulator(), new Trace(), new CostModel(), new GuestMemory(spec.memBytes));
  if (E.isLeft(h)) throw new Error(vmErrorMessage(h.left));
  return h.right;
}

describe('buildHost: the spec\'s device properties reach the model as given', () => {
  it('num-queues=auto is one queue per vCPU; vectors num-queues + 1', () => {
    const [d] = hostOf(['-smp', '8', ...DISK, '-device', 'virtio-blk-pci,drive=d0']).devices;
    expect(d.model.conf['num-queues']).toBe(8);
    expect(d.transport.numQueues).toBe(8);
    expect(d.spec.vectors).toBe(9);
  });

  it('every other property, by its QEMU name', () => {
    const [d] = hostOf([
      ...DISK,
      '-device',
      'virtio-blk-pci,drive=d0,num-queues=2,queue-size=64,serial=SN1,logical_block_size=4k,physical_block_size=8k,' +
        'min_io_size=8k,discard=off,request-merging=off,cyls=100,heads=4,secs=32',
    ]).devices;
    expect(d.model.conf).toMatchObject({
      'num-queues': 2,
      'queue-size': 64,
      serial: 'SN1',
      logical_block_size: 4096,
      physical_block_size: 8192,
      min_io_size: 8192,
      discard: false,
      'request-merging': false,
      cyls: 100,
      heads: 4,
      secs: 32,
    });
    expect(d.model.queueMaxSize(1)).toBe(64);
  });

  it('unset block sizes are the backend\'s 512', () => {
    const [d] = hostOf([...DISK, '-device', 'virtio-blk-pci,drive=d0']).devices;
    expect(d.model.conf).toMatchObject({ logical_block_size: 512, physical_block_size: 512 });
  });
});
