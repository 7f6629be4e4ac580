import { describe, expect, it } from 'vitest';
import { DEFAULT_VIRTIO_BLK_PROPS, VIRTIO_BLK_PROPS } from '../../host/devices/virtio-blk/index.js';
import { DRIVE, blkSpecOf, errorOf, messageOf } from './test-helpers.js';
import { VIRTIO_BLK_PCI_PROPS, virtioBlkPciDefaults, virtioBlkPciHelp } from './virtio-blk-pci.js';

const dev = (props: string) => [...DRIVE, '-device', `virtio-blk-pci,drive=d0${props}`];

describe('virtio-blk-pci defaults (QEMU ≥ 5.2)', () => {
  it('gives every property its default', () => {
    expect(blkSpecOf(dev('')).devices).toEqual([
      {
        driver: 'virtio-blk-pci',
        drive: 'd0',
        shareRw: false,
        props: {
          'num-queues': 'auto',
          'queue-size': 256,
          'seg-max-adjust': true,
          event_idx: true,
          indirect_desc: true,
          notify_on_empty: true,
          any_layout: true,
          serial: '',
          'config-wce': true,
          'x-enable-wce-if-config-wce': true,
          'request-merging': true,
          discard: true,
          'write-zeroes': true,
          'report-discard-granularity': true,
          'max-discard-sectors': 4194303,
          'max-write-zeroes-sectors': 4194303,
          logical_block_size: 0,
          physical_block_size: 0,
          min_io_size: 0,
          opt_io_size: 0,
          discard_granularity: -1,
          cyls: 0,
          heads: 0,
          secs: 0,
          rerror: 'auto',
          werror: 'auto',
        },
        ioeventfd: true,
        vectors: 2,
        disableLegacy: true,
        modernPioNotify: false,
      },
    ]);
  });

  it('num-queues defaults to auto, one per vCPU; vectors to num-queues + 1', () => {
    const [d] = blkSpecOf(['-smp', '8', ...dev('')]).devices;
    expect(d.props['num-queues']).toBe('auto');
    expect(d.vectors).toBe(9);
    const [e] = blkSpecOf(['-smp', '8', ...dev(',num-queues=2')]).devices;
    expect(e.vectors).toBe(3);
    const [f] = blkSpecOf(['-smp', '8', ...dev(',vectors=0')]).devices;
    expect(f).toMatchObject({ props: { 'num-queues': 'auto' }, vectors: 0 });
    const [g] = blkSpecOf(['-smp', '8', ...dev(',num-queues=auto')]).devices;
    expect(g).toMatchObject({ props: { 'num-queues': 'auto' }, vectors: 9 });
  });

  it('virtioBlkPciDefaults agrees with the parser', () => {
    expect(virtioBlkPciDefaults(4, 'd0')).toEqual(blkSpecOf(['-smp', '4', ...dev('')]).devices[0]);
  });

  it('reads every property', () => {
    const [d] = blkSpecOf([
      '-object',
      'iothread,id=io1',
      ...dev(
        ',id=vd0,num-queues=4,queue-size=1024,event_idx=off,indirect_desc=no,ioeventfd=true,vectors=3,iothread=io1,serial=SN,,1,' +
          'logical_block_size=4k,physical_block_size=4096,discard=off,write-zeroes=off,config-wce=off,request-merging=off,' +
          'seg-max-adjust=off,disable-legacy=off,modern-pio-notify=on,addr=0x1f,share-rw=on',
      ),
    ]).devices;
    expect(d).toEqual({
      driver: 'virtio-blk-pci',
      id: 'vd0',
      drive: 'd0',
      shareRw: true,
      props: {
        ...DEFAULT_VIRTIO_BLK_PROPS,
        'num-queues': 4,
        'queue-size': 1024,
        event_idx: false,
        indirect_desc: false,
        serial: 'SN,1',
        logical_block_size: 4096,
        physical_block_size: 4096,
        discard: false,
        'write-zeroes': false,
        'config-wce': false,
        'request-merging': false,
        'seg-max-adjust': false,
      },
      ioeventfd: true,
      vectors: 3,
      iothread: 'io1',
      disableLegacy: false,
      modernPioNotify: true,
      addr: 31,
    });
  });

  it('accepts the virtio-blk alias, bare flags and the JSON form', () => {
    expect(blkSpecOf([...DRIVE, '-device', 'virtio-blk,drive=d0,modern-pio-notify']).devices[0].modernPioNotify).toBe(true);
    const [d] = blkSpecOf([...DRIVE, '-device', '{"driver":"virtio-blk-pci","drive":"d0","num-queues":2,"event_idx":false}']).devices;
    expect(d).toMatchObject({ props: { 'num-queues': 2, event_idx: false } });
  });

  it('reads addr as QEMU does: hex slot, optional .function', () => {
    expect(blkSpecOf(dev(',addr=05.0')).devices[0].addr).toBe(5);
    expect(blkSpecOf(dev(',addr=10')).devices[0].addr).toBe(16);
    expect(messageOf(dev(',addr=20'))).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=d0,addr=20: Property 'virtio-blk-pci.addr' doesn't take value '20'",
    );
    expect(errorOf(dev(',addr=04.1'))._tag).toBe('NotModelled');
  });
});

describe('virtio-blk-pci errors, worded as QEMU', () => {
  it('an unknown property', () => {
    expect(messageOf(['-device', 'virtio-blk-pci,foo=1'])).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,foo=1: Property 'virtio-blk-pci.foo' not found",
    );
  });

  it('no drive, an unknown drive, an empty drive', () => {
    expect(messageOf(['-device', 'virtio-blk-pci'])).toBe('qemu-system-x86_64: -device virtio-blk-pci: drive property not set');
    expect(messageOf(['-device', 'virtio-blk-pci,drive=xyz'])).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=xyz: Property 'virtio-blk-pci.drive' can't find value 'xyz'",
    );
    expect(messageOf(['-drive', 'if=none,id=e0', '-device', 'virtio-blk-pci,drive=e0'])).toBe(
      'qemu-system-x86_64: -device virtio-blk-pci,drive=e0: Device needs media, but drive is empty',
    );
  });

  it('bad numbers and booleans', () => {
    expect(messageOf(dev(',num-queues=70000'))).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=d0,num-queues=70000: Parameter 'num-queues' expects uint16",
    );
    expect(messageOf(dev(',queue-size=abc'))).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=d0,queue-size=abc: Property 'virtio-blk-pci.queue-size' doesn't take value 'abc'",
    );
    expect(messageOf(dev(',event_idx=maybe'))).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=d0,event_idx=maybe: Parameter 'event_idx' expects 'on' or 'off'",
    );
  });

  it('queue-size must be a power of 2 in 4..1024, num-queues at least 1', () => {
    expect(messageOf(dev(',queue-size=2'))).toMatch(/: invalid queue-size property \(2\), must be > 2$/);
    expect(messageOf(dev(',queue-size=100'))).toMatch(/: invalid queue-size property \(100\), must be a power of 2 \(max 1024\)$/);
    expect(messageOf(dev(',queue-size=2048'))).toMatch(/: invalid queue-size property \(2048\), must be a power of 2 \(max 1024\)$/);
    expect(blkSpecOf(dev(',queue-size=4')).devices[0].props['queue-size']).toBe(4);
    expect(messageOf(dev(',num-queues=0'))).toMatch(/: num-queues property must be larger than 0$/);
    expect(errorOf(dev(',num-queues=1025'))._tag).toBe('NumQueuesTooMany');
  });

  it('block sizes: power of 2, 512..2M, logical <= physical', () => {
    expect(messageOf(dev(',logical_block_size=256'))).toMatch(
      /Property virtio-blk-pci.logical_block_size doesn't take value 256 \(minimum: 512, maximum: 2097152\)$/,
    );
    expect(messageOf(dev(',physical_block_size=1000'))).toMatch(
      /Property virtio-blk-pci.physical_block_size doesn't take value '1000', it's not a power of 2$/,
    );
    expect(messageOf(dev(',logical_block_size=4096'))).toMatch(/: logical_block_size > physical_block_size not supported$/);
  });

  it('an unknown iothread; an iothread without ioeventfd', () => {
    expect(messageOf(dev(',iothread=x'))).toBe("qemu-system-x86_64: -device virtio-blk-pci,drive=d0,iothread=x: Could not find iothread 'x'");
    expect(messageOf(['-object', 'iothread,id=io0', ...dev(',iothread=io0,ioeventfd=off')])).toMatch(
      /: ioeventfd is required for iothread$/,
    );
  });

  it('too many MSI-X vectors', () => {
    expect(errorOf(dev(',vectors=4096'))._tag).toBe('PropertyValueOutOfRange');
  });
});

describe('the property table', () => {
  it("declares each QEMU property once: the device model's, then the transport's", () => {
    const names = VIRTIO_BLK_PCI_PROPS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(
      [
        ...Object.keys(VIRTIO_BLK_PROPS),
        'drive', 'share-rw', 'ioeventfd', 'vectors', 'iothread', 'disable-legacy', 'modern-pio-notify', 'addr',
      ].sort(),
    );
    expect(Object.keys(VIRTIO_BLK_PROPS)).toEqual(
      expect.arrayContaining([
        'num-queues', 'queue-size', 'event_idx', 'indirect_desc', 'serial', 'logical_block_size', 'physical_block_size',
        'discard', 'write-zeroes', 'config-wce', 'request-merging', 'seg-max-adjust',
      ]),
    );
  });

  it("takes each device property's default and help from the device model's table", () => {
    for (const [name, d] of Object.entries(VIRTIO_BLK_PROPS)) {
      const decl = VIRTIO_BLK_PCI_PROPS.find((p) => p.name === name);
      expect(decl?.help, name).toBe(d.help);
      expect(decl?.default, name).toEqual({ kind: 'value', value: d.default });
    }
  });

  it('reads every device property with the codec for its type', () => {
    const [d] = blkSpecOf(
      dev(
        ',notify_on_empty=off,any_layout=no,x-enable-wce-if-config-wce=off,report-discard-granularity=off,' +
          'max-discard-sectors=0x100,max-write-zeroes-sectors=64,logical_block_size=4k,physical_block_size=8k,' +
          'min_io_size=8k,opt_io_size=64k,discard_granularity=16k,cyls=100,heads=4,secs=32,num-queues=auto',
      ),
    ).devices;
    expect(d.props).toEqual({
      ...DEFAULT_VIRTIO_BLK_PROPS,
      notify_on_empty: false,
      any_layout: false,
      'x-enable-wce-if-config-wce': false,
      'report-discard-granularity': false,
      'max-discard-sectors': 256,
      'max-write-zeroes-sectors': 64,
      logical_block_size: 4096,
      physical_block_size: 8192,
      min_io_size: 8192,
      opt_io_size: 65536,
      discard_granularity: 16384,
      cyls: 100,
      heads: 4,
      secs: 32,
    });
    expect(blkSpecOf(dev(',discard_granularity=4294967295')).devices[0].props.discard_granularity).toBe(-1);
    expect(blkSpecOf(dev(',logical_block_size=0')).devices[0].props.logical_block_size).toBe(0);
  });

  it("refuses what the device model's realize refuses, in its words", () => {
    expect(messageOf(dev(',logical_block_size=4096,physical_block_size=4096,min_io_size=512'))).toBe(
      'qemu-system-x86_64: -device virtio-blk-pci,drive=d0,logical_block_size=4096,physical_block_size=4096,min_io_size=512: ' +
        'min_io_size must be a multiple of logical_block_size',
    );
    expect(messageOf(dev(',max-discard-sectors=0'))).toMatch(/: invalid max-discard-sectors property \(0\), must be between 1 and 4194303$/);
    expect(blkSpecOf(dev(',max-discard-sectors=0,discard=off')).devices[0].props['max-discard-sectors']).toBe(0);
    expect(messageOf(dev(',heads=300,cyls=1,secs=1'))).toMatch(/: heads must be between 1 and 255$/);
    expect(messageOf(dev(',discard_granularity=5G'))).toMatch(
      /: Property virtio-blk-pci.discard_granularity doesn't take value 5368709120 \(minimum: 0, maximum: 4294967295\)$/,
    );
  });

  it('generates the help QEMU-style, sorted, with defaults', () => {
    const help = virtioBlkPciHelp();
    const lines = help.split('\n');
    expect(lines[0]).toBe('virtio-blk-pci options:');
    expect(lines).toContain('  queue-size=<uint16>    - virtqueue size (power of 2, 3..1024); 128 before QEMU 5.0 (default: 256)');
    expect(help).toContain(
      "  num-queues=<uint16>    - request queues; 'auto' = one per vCPU for virtio-blk-pci (1 otherwise), MQ offered when > 1 (default: auto)",
    );
    expect(lines).toContain('  vectors=<uint32>       - MSI-X vectors: one per queue and one for config; 0 means INTx (default: num-queues + 1)');
    expect(lines).toContain('  serial=<str>           - disk serial number returned by VIRTIO_BLK_T_GET_ID (up to 20 bytes)');
    const names = lines.slice(1).map((l) => l.trim().split('=')[0]);
    expect(names).toEqual([...names].sort());
    expect(names.length).toBe(VIRTIO_BLK_PCI_PROPS.length);
  });

  it('answers -device virtio-blk-pci,help and -device help', () => {
    expect(errorOf(['-device', 'virtio-blk-pci,help'])).toEqual({ _tag: 'HelpRequested', text: virtioBlkPciHelp() });
    expect(errorOf(['-device', 'virtio-blk-pci,?'])).toEqual({ _tag: 'HelpRequested', text: virtioBlkPciHelp() });
    const list = errorOf(['-device', 'help']);
    expect(list._tag === 'HelpRequested' && list.text).toContain('name "virtio-blk-pci", bus PCI, alias "virtio-blk"');
  });
});
