import { describe, expect, it } from 'vitest';
import { DEFAULT_SCSI_DISK_PROPS } from '../../host/devices/scsi-disk/index.js';
import { DEFAULT_VIRTIO_SCSI_PROPS } from '../../host/devices/virtio-scsi/index.js';
import { formatQemuArgs } from './format.js';
import { parseQemuArgs } from './parse.js';
import { errorOf, messageOf, specOf } from './test-helpers.js';

/** The issue's command line, word for word. */
const ISSUE = [
  '-device', 'virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x8',
  '-drive', 'file=disk1.img,if=none,id=drive-scsi0-0-0-0,format=raw',
  '-device', 'scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0-0-0-0,id=scsi0-0-0-0',
];
const HBA = ['-device', 'virtio-scsi-pci,id=scsi0'];
const drive = (id: string) => ['-drive', `file=${id}.img,if=none,id=${id},format=raw`];
const hd = (props: string) => ['-device', `scsi-hd,${props}`];

describe('-device virtio-scsi-pci and scsi-hd: the issue\'s command line', () => {
  it('parses into an HBA at slot 8 and a disk at 0:0:0 on its bus scsi0.0', () => {
    const spec = specOf(ISSUE);
    expect(spec.devices).toEqual([
      { driver: 'virtio-scsi-pci', id: 'scsi0', props: DEFAULT_VIRTIO_SCSI_PROPS, ioeventfd: true, vectors: 4, disableLegacy: true, modernPioNotify: false, addr: 8 },
      { driver: 'scsi-hd', id: 'scsi0-0-0-0', bus: 'scsi0.0', drive: 'drive-scsi0-0-0-0', shareRw: false, props: { ...DEFAULT_SCSI_DISK_PROPS, channel: 0, 'scsi-id': 0, lun: 0 } },
    ]);
    expect(spec.drives.map((d) => d.id)).toEqual(['drive-scsi0-0-0-0']);
  });

  it('prints back canonically, and the print parses to the same spec', () => {
    const spec = specOf(ISSUE);
    const argv = formatQemuArgs(spec);
    expect(argv.filter((_, i) => argv[i - 1] === '-device')).toEqual([
      'virtio-scsi-pci,id=scsi0,addr=08.0',
      'scsi-hd,id=scsi0-0-0-0,bus=scsi0.0,drive=drive-scsi0-0-0-0,scsi-id=0,lun=0',
    ]);
    expect(specOf(argv)).toEqual(spec);
  });
});

describe('-device virtio-scsi-pci properties (QEMU 7.2 defaults)', () => {
  it('num_queues is auto (one per vCPU); vectors num_queues + 3', () => {
    const [a] = specOf(['-smp', '4', ...HBA]).devices;
    expect(a).toMatchObject({ props: { num_queues: 'auto', virtqueue_size: 256, max_sectors: 0xffff, cmd_per_lun: 128, hotplug: true, param_change: true }, vectors: 7 });
    const [b] = specOf(['-smp', '4', '-device', 'virtio-scsi-pci,num_queues=2,virtqueue_size=128,hotplug=off,cmd_per_lun=4']).devices;
    expect(b).toMatchObject({ props: { num_queues: 2, virtqueue_size: 128, hotplug: false, cmd_per_lun: 4 }, vectors: 5 });
  });

  it('the alias virtio-scsi, an iothread, ioeventfd', () => {
    const [d] = specOf(['-object', 'iothread,id=io0', '-device', 'virtio-scsi,iothread=io0']).devices;
    expect(d).toMatchObject({ driver: 'virtio-scsi-pci', iothread: 'io0', ioeventfd: true });
  });

  it('refuses bad values with QEMU\'s messages', () => {
    expect(messageOf(['-device', 'virtio-scsi-pci,num_queues=0'])).toBe(
      'qemu-system-x86_64: -device virtio-scsi-pci,num_queues=0: Invalid number of queues (= 0), must be a positive integer less than 1022.',
    );
    expect(messageOf(['-device', 'virtio-scsi-pci,virtqueue_size=2'])).toBe(
      'qemu-system-x86_64: -device virtio-scsi-pci,virtqueue_size=2: invalid virtqueue_size property (= 2), must be > 2',
    );
    expect(errorOf(['-device', 'virtio-scsi-pci,max_sectors=x'])._tag).toBe('PropertyValueBad');
    expect(errorOf(['-device', 'virtio-scsi-pci,hotplug=maybe'])._tag).toBe('ParameterExpects');
    expect(messageOf(['-device', 'virtio-scsi-pci,foo=1'])).toBe("qemu-system-x86_64: -device virtio-scsi-pci,foo=1: Property 'virtio-scsi-pci.foo' not found");
    expect(messageOf(['-object', 'iothread,id=io0', '-device', 'virtio-scsi-pci,iothread=io0,ioeventfd=off'])).toMatch(/ioeventfd is required for iothread$/);
    expect(messageOf(['-device', 'virtio-scsi-pci,bus=pci.1'])).toMatch(/Bus 'pci.1' not found$/);
  });

  it('-device virtio-scsi-pci,help lists the device\'s and the proxy\'s properties', () => {
    const e = errorOf(['-device', 'virtio-scsi-pci,help']);
    expect(e._tag).toBe('HelpRequested');
    const text = e._tag === 'HelpRequested' ? e.text : '';
    expect(text).toContain('num_queues=<uint32>');
    expect(text).toContain('vectors=<uint32>');
    expect(text).toContain('(default: num_queues + 3)');
  });
});

describe('-device scsi-hd / scsi-cd on a SCSI bus', () => {
  it('without bus= goes on the first SCSI bus; an HBA without id names its bus scsi.N', () => {
    const s = specOf(['-device', 'virtio-scsi-pci', '-device', 'virtio-scsi-pci,id=hba', ...drive('a'), ...drive('b'), ...hd('drive=a'), ...hd('drive=b,bus=hba.0')]);
    expect(s.devices.slice(2).map((d) => ('bus' in d ? d.bus : ''))).toEqual(['scsi.0', 'hba.0']);
  });

  it('scsi-id and lun default to -1 (the first free one); two such disks do not clash', () => {
    const s = specOf([...HBA, ...drive('a'), ...drive('b'), ...hd('drive=a'), ...hd('drive=b')]);
    expect(s.devices.slice(1).map((d) => ('props' in d && 'scsi-id' in d.props ? [d.props['scsi-id'], d.props.lun] : []))).toEqual([[-1, -1], [-1, -1]]);
  });

  it('scsi-cd may have no drive; scsi-hd must have one, with media', () => {
    expect(specOf([...HBA, '-device', 'scsi-cd,id=cd0']).devices[1]).toMatchObject({ driver: 'scsi-cd', id: 'cd0', bus: 'scsi0.0' });
    expect(messageOf([...HBA, ...hd('id=d')])).toBe('qemu-system-x86_64: -device scsi-hd,id=d: drive property not set');
    expect(messageOf([...HBA, '-drive', 'if=none,id=empty', ...hd('drive=empty')])).toMatch(/Device needs media, but drive is empty$/);
    expect(messageOf([...HBA, ...hd('drive=nope')])).toMatch(/Property 'scsi-hd.drive' can't find value 'nope'$/);
  });

  it('a duplicate address is QEMU\'s "lun already used"; a bad id or lun is "bad scsi device …"', () => {
    const dup = [...HBA, ...drive('a'), ...drive('b'), ...hd('drive=a,scsi-id=1,lun=2,id=first'), ...hd('drive=b,scsi-id=1,lun=2')];
    expect(messageOf(dup)).toBe("qemu-system-x86_64: -device scsi-hd,drive=b,scsi-id=1,lun=2: lun already used by 'first'");
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,scsi-id=256')])).toMatch(/bad scsi device id: 256$/);
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,lun=16384')])).toMatch(/bad scsi device lun: 16384$/);
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,channel=1')])).toMatch(/bad scsi channel id: 1$/);
    // The same address on another HBA is fine.
    expect(() => specOf([...HBA, '-device', 'virtio-scsi-pci,id=scsi1', ...drive('a'), ...drive('b'), ...hd('drive=a,scsi-id=1'), ...hd('drive=b,scsi-id=1,bus=scsi1.0')])).not.toThrow();
  });

  it('an unknown bus, no SCSI bus at all, or a bus of the wrong type', () => {
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,bus=scsi9.0')])).toBe("qemu-system-x86_64: -device scsi-hd,drive=a,bus=scsi9.0: Bus 'scsi9.0' not found");
    expect(messageOf([...drive('a'), ...hd('drive=a')])).toBe("qemu-system-x86_64: -device scsi-hd,drive=a: No 'SCSI' bus found for device 'scsi-hd'");
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,bus=pci.0')])).toMatch(/Device 'scsi-hd' can't go on PCI bus$/);
    expect(messageOf([...HBA, ...drive('a'), '-device', 'virtio-blk-pci,drive=a,bus=scsi0.0'])).toMatch(/Device 'virtio-blk-pci' can't go on SCSI bus$/);
    // A disk before its HBA: the bus does not exist yet, as in QEMU.
    expect(messageOf([...drive('a'), ...hd('drive=a,bus=scsi0.0'), ...HBA])).toMatch(/Bus 'scsi0.0' not found$/);
  });

  it('a drive used twice; properties the model refuses; scsi-cd has no scsi-hd-only ones', () => {
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a'), ...hd('drive=a')])).toMatch(/Drive 'a' is already in use by another device$/);
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,rotation_rate=x')])).toMatch(/Property 'scsi-hd.rotation_rate' doesn't take value 'x'$/);
    expect(messageOf([...HBA, ...drive('a'), ...hd('drive=a,min_io_size=100')])).toMatch(/min_io_size must be a multiple of logical_block_size$/);
    expect(messageOf([...HBA, '-device', 'scsi-cd,removable=on'])).toMatch(/Property 'scsi-cd.removable' not found$/);
  });

  it('scsi-hd properties round-trip through the canonical print', () => {
    const spec = specOf([...HBA, ...drive('a'), ...hd('drive=a,serial=S1,wwn=0x5000c50015ea71ac,logical_block_size=4096,physical_block_size=4096,rerror=stop,dpofua=on,lun=300')]);
    expect(spec.devices[1]).toMatchObject({ props: { serial: 'S1', wwn: 0x5000c50015ea71acn, logical_block_size: 4096, rerror: 'stop', dpofua: true, lun: 300 } });
    const again = parseQemuArgs(formatQemuArgs(spec));
    expect(again).toEqual({ _tag: 'Right', right: spec });
  });
});
