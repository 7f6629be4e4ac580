import { describe, expect, it } from 'vitest';
import { DEFAULT_MEM_BYTES, KVM_HALT_POLL_NS_DEFAULT } from '../spec.js';
import { DRIVE, errorOf, messageOf, specOf } from './test-helpers.js';

describe('an empty command line', () => {
  it("gives QEMU's defaults", () => {
    expect(specOf([])).toEqual({
      memBytes: DEFAULT_MEM_BYTES,
      memPrealloc: false,
      smp: { cpus: 1 },
      iothreads: [],
      drives: [],
      devices: [],
      kvm: { apicv: true, pvEoi: true, haltPollNs: KVM_HALT_POLL_NS_DEFAULT },
    });
    expect(specOf(['qemu-system-x86_64'])).toEqual(specOf([]));
  });
});

describe('option scanning', () => {
  it('an unknown option, a missing argument, a bare image', () => {
    expect(messageOf(['-foo'])).toBe('qemu-system-x86_64: -foo: invalid option');
    expect(messageOf(['-m'])).toBe('qemu-system-x86_64: -m: requires an argument');
    expect(errorOf(['disk.img'])._tag).toBe('NotModelled');
  });

  it('accepts -machine, -enable-kvm, -accel kvm, -nographic, -cpu, and --long forms', () => {
    expect(specOf(['-machine', 'q35,accel=kvm', '-enable-kvm', '-accel', 'kvm', '-nographic', '-cpu', 'host', '--m', '1G']).memBytes).toBe(2 ** 30);
    expect(specOf(['-M', 'pc', '-display', 'none', '-name', 'vm1'])).toEqual(specOf([]));
  });

  it('refuses what it does not model', () => {
    expect(messageOf(['-accel', 'tcg'])).toBe('qemu-system-x86_64: -accel tcg: accel=tcg (iopath models KVM) is not modelled by iopath');
    expect(errorOf(['-machine', 'q35,accel=tcg'])._tag).toBe('NotModelled');
    expect(errorOf(['-accel', 'kvm,kernel-irqchip=off'])._tag).toBe('NotModelled');
    expect(errorOf(['-netdev', 'user,id=n0'])._tag).toBe('NotModelled');
    expect(errorOf(['-snapshot'])._tag).toBe('NotModelled');
  });
});

describe('-m', () => {
  it('takes a bare number as MiB, suffixes, size=, and 0 as the default', () => {
    expect(specOf(['-m', '512']).memBytes).toBe(512 * 2 ** 20);
    expect(specOf(['-m', '512M']).memBytes).toBe(512 * 2 ** 20);
    expect(specOf(['-m', '4G']).memBytes).toBe(4 * 2 ** 30);
    expect(specOf(['-m', '1T']).memBytes).toBe(2 ** 40);
    expect(specOf(['-m', 'size=2G,slots=4,maxmem=8G']).memBytes).toBe(2 * 2 ** 30);
    expect(specOf(['-m', '0']).memBytes).toBe(DEFAULT_MEM_BYTES);
  });

  it('rounds up to 8 KiB as QEMU does', () => {
    expect(specOf(['-m', '1001k']).memBytes).toBe(126 * 8192);
  });

  it('refuses bad sizes with QEMU\'s words', () => {
    expect(messageOf(['-m', '12Q'])).toBe(
      "qemu-system-x86_64: -m 12Q: Parameter 'size' expects a non-negative number below 2^64\n" +
        'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.',
    );
    expect(messageOf(['-m', '16E'])).toBe("qemu-system-x86_64: -m 16E: Value '16E' is out of range for parameter 'size'");
    expect(messageOf(['-m', '1G,foo=1'])).toBe("qemu-system-x86_64: -m 1G,foo=1: Invalid parameter 'foo'");
    expect(errorOf(['-m', '1.5'])._tag).toBe('ParameterExpects');
    expect(specOf(['-m', '1.5G']).memBytes).toBe(1.5 * 2 ** 30);
    expect(errorOf(['-m', '9000000000000'])._tag).toBe('ValueOutOfRange');
  });
});

describe('-mem-prealloc', () => {
  it('asks for all of RAM up front, and takes no argument', () => {
    expect(specOf(['-m', '1G']).memPrealloc).toBe(false);
    expect(specOf(['-m', '1G', '-mem-prealloc']).memPrealloc).toBe(true);
    expect(specOf(['--mem-prealloc']).memPrealloc).toBe(true);
    expect(messageOf(['-mem-prealloc', 'on'])).toBe("qemu-system-x86_64: on: a bare disk image (QEMU's -hda, an IDE disk) is not modelled by iopath");
  });
});

describe('-smp', () => {
  it('takes N, cpus=N, or a topology', () => {
    expect(specOf(['-smp', '4']).smp).toEqual({ cpus: 4 });
    expect(specOf(['-smp', 'cpus=6']).smp).toEqual({ cpus: 6 });
    expect(specOf(['-smp', 'sockets=2,cores=2,threads=2']).smp).toEqual({ cpus: 8 });
  });

  it('refuses nonsense', () => {
    expect(messageOf(['-smp', 'x'])).toBe("qemu-system-x86_64: -smp x: Parameter 'cpus' expects a number");
    expect(messageOf(['-smp', '0'])).toMatch(/Invalid SMP CPUs 0\. The min CPUs supported by machine 'q35' is 1$/);
    expect(errorOf(['-smp', '5000'])._tag).toBe('SmpCpus');
    expect(messageOf(['-smp', '2,foo=1'])).toBe("qemu-system-x86_64: -smp 2,foo=1: Invalid parameter 'foo'");
  });
});

describe('KVM knobs', () => {
  it('-accel kvm,x-apicv=,x-halt-poll-ns= and -cpu kvm-pv-eoi', () => {
    expect(specOf(['-accel', 'kvm,x-apicv=off,x-halt-poll-ns=0', '-cpu', 'host,kvm-pv-eoi=off']).kvm).toEqual({
      apicv: false,
      pvEoi: false,
      haltPollNs: 0,
    });
    expect(specOf(['-cpu', 'host,-kvm-pv-eoi']).kvm.pvEoi).toBe(false);
    expect(specOf(['-cpu', 'host,-kvm-pv-eoi,+kvm-pv-eoi']).kvm.pvEoi).toBe(true);
  });

  it('refuses unknown accel properties and bad values', () => {
    expect(messageOf(['-accel', 'kvm,foo=1'])).toBe("qemu-system-x86_64: -accel kvm,foo=1: Property 'kvm-accel.foo' not found");
    expect(messageOf(['-accel', 'kvm,x-apicv=2'])).toMatch(/Parameter 'x-apicv' expects 'on' or 'off'$/);
    expect(messageOf(['-cpu', 'host,kvm-pv-eoi=x'])).toMatch(/Parameter 'kvm-pv-eoi' expects 'on' or 'off'$/);
  });
});

describe('-object', () => {
  it('iothreads, in order, dotted or JSON', () => {
    expect(specOf(['-object', 'iothread,id=io0', '-object', '{"qom-type":"iothread","id":"io1"}']).iothreads).toEqual([
      { id: 'io0' },
      { id: 'io1' },
    ]);
    expect(specOf(['-object', 'memory-backend-ram,id=mem0,size=1G']).iothreads).toEqual([]);
  });

  it('refuses duplicates, bad ids, unknown types and properties', () => {
    expect(messageOf(['-object', 'iothread,id=x', '-object', 'iothread,id=x'])).toBe(
      "qemu-system-x86_64: -object iothread,id=x: Duplicate ID 'x' for object",
    );
    expect(messageOf(['-object', 'iothread'])).toBe("qemu-system-x86_64: -object iothread: Parameter 'id' is missing");
    expect(messageOf(['-object', 'iothread,id=1x'])).toMatch(/Parameter 'id' expects an identifier\nIdentifiers consist of/);
    expect(messageOf(['-object', 'foo,id=x'])).toBe('qemu-system-x86_64: -object foo,id=x: invalid object type: foo');
    expect(messageOf(['-object', 'iothread,id=x,foo=1'])).toMatch(/Property 'iothread.foo' not found$/);
    expect(errorOf(['-object', 'iothread,id=x,poll-max-ns=0'])._tag).toBe('NotModelled');
    expect(errorOf(['-object', 'help'])._tag).toBe('HelpRequested');
  });
});

describe('-device, across the line', () => {
  it('may name a drive defined later, as QEMU creates backends first', () => {
    expect(specOf(['-device', 'virtio-blk-pci,drive=d0', ...DRIVE]).devices).toHaveLength(1);
  });

  it('an unknown model', () => {
    expect(messageOf(['-device', 'foo'])).toBe("qemu-system-x86_64: -device foo: 'foo' is not a valid device model name");
  });

  it('duplicate device ids', () => {
    const argv = [...DRIVE, '-drive', 'file=b.img,if=none,id=d1', '-device', 'virtio-blk-pci,id=x,drive=d0', '-device', 'virtio-blk-pci,id=x,drive=d1'];
    expect(messageOf(argv)).toBe("qemu-system-x86_64: -device virtio-blk-pci,id=x,drive=d1: Duplicate ID 'x' for device");
  });

  it('a drive used twice', () => {
    expect(messageOf([...DRIVE, '-device', 'virtio-blk-pci,drive=d0', '-device', 'virtio-blk-pci,drive=d0,id=b'])).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,drive=d0,id=b: Drive 'd0' is already in use by another device",
    );
    expect(messageOf(['-drive', 'file=a,if=virtio,id=v', '-device', 'virtio-blk-pci,drive=v'])).toMatch(
      /Drive 'v' is already in use because it has been automatically connected to another device \(did you need 'if=none' in the drive options\?\)$/,
    );
  });

  it('two devices in one PCI slot', () => {
    const argv = [...DRIVE, '-drive', 'file=b,if=none,id=d1', '-device', 'virtio-blk-pci,drive=d0,addr=5', '-device', 'virtio-blk-pci,drive=d1,addr=05.0'];
    expect(messageOf(argv)).toBe(
      'qemu-system-x86_64: -device virtio-blk-pci,drive=d1,addr=05.0: PCI: slot 5 function 0 not available for virtio-blk-pci, in use by virtio-blk-pci,id=(null)',
    );
  });

  it('a bad device id', () => {
    expect(errorOf([...DRIVE, '-device', 'virtio-blk-pci,drive=d0,id=-x'])._tag).toBe('BadIdentifier');
  });
});
