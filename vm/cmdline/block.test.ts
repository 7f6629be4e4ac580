import { describe, expect, it } from 'vitest';
import { blkSpecOf, errorOf, messageOf } from './test-helpers.js';

describe('-drive', () => {
  it('reads file, if=none, id, format, cache, aio, discard, readonly', () => {
    expect(blkSpecOf(['-drive', 'file=/img/a,,b.raw,if=none,id=d0,format=raw,cache=none,aio=native,discard=unmap,readonly=on']).drives).toEqual([
      { id: 'd0', source: 'drive', file: '/img/a,b.raw', format: 'raw', cache: 'none', aio: 'native', discard: 'unmap', readOnly: true, options: {} },
    ]);
  });

  it("has QEMU's defaults: writeback, threads, ignore, read-write", () => {
    expect(blkSpecOf(['-drive', 'file=a,if=none,id=d0']).drives[0]).toEqual({
      id: 'd0', source: 'drive', file: 'a', cache: 'writeback', aio: 'threads', discard: 'ignore', readOnly: false, options: {},
    });
  });

  it('reads driver= as the protocol driver without file=, and as the format with it', () => {
    expect(blkSpecOf(['-drive', 'driver=null-co,size=1G,latency-ns=1000,if=none,id=n0']).drives[0]).toMatchObject({
      options: { driver: 'null-co', size: '1G', 'latency-ns': '1000' },
    });
    expect(blkSpecOf(['-drive', 'driver=memory,size=64M,if=none,id=m0']).drives[0].options).toEqual({ driver: 'memory', size: '64M' });
    const d = blkSpecOf(['-drive', 'driver=qcow2,file=a.qcow2,if=none,id=q0']).drives[0];
    expect(d).toMatchObject({ format: 'qcow2', file: 'a.qcow2', options: {} });
    expect(messageOf(['-drive', 'driver=raw,format=raw,if=none,id=x'])).toMatch(/Cannot specify both 'driver' and 'format'$/);
  });

  it('combines cache= with the cache.* flags', () => {
    const mode = (o: string) => blkSpecOf(['-drive', `file=a,if=none,id=d0,${o}`]).drives[0].cache;
    expect(mode('cache=writethrough')).toBe('writethrough');
    expect(mode('cache=directsync')).toBe('directsync');
    expect(mode('cache=unsafe')).toBe('unsafe');
    expect(mode('cache.direct=on')).toBe('none');
    expect(mode('cache=none,cache.writeback=off')).toBe('directsync');
    expect(errorOf(['-drive', 'file=a,if=none,id=d0,cache=none,cache.no-flush=on'])._tag).toBe('NotModelled');
  });

  it("refuses bad options in QEMU's words", () => {
    expect(messageOf(['-drive', 'file=a,if=none,id=d0,cache=fast'])).toBe('qemu-system-x86_64: -drive file=a,if=none,id=d0,cache=fast: invalid cache option');
    expect(messageOf(['-drive', 'file=a,if=none,id=d0,aio=posix'])).toMatch(/: invalid aio option$/);
    expect(messageOf(['-drive', 'file=a,if=none,id=d0,discard=maybe'])).toMatch(/: Invalid discard option$/);
    expect(messageOf(['-drive', 'file=a,if=none,id=d0,aio=native'])).toMatch(
      /: aio=native was specified, but it requires cache.direct=on, which was not specified\.$/,
    );
    expect(messageOf(['-drive', 'file=a,if=none,id=d0,readonly=2'])).toMatch(/Parameter 'readonly' expects 'on' or 'off'$/);
  });

  it('duplicate ids', () => {
    expect(messageOf(['-drive', 'file=a,if=none,id=x', '-drive', 'file=b,if=none,id=x'])).toBe(
      "qemu-system-x86_64: -drive file=b,if=none,id=x: Duplicate ID 'x' for drive",
    );
  });

  it('buses: none and virtio; ide (the default) and others are not modelled', () => {
    const s = blkSpecOf(['-drive', 'file=a,if=virtio', '-drive', 'file=b,if=virtio', '-drive', 'file=c,if=none']);
    expect(s.drives.map((d) => d.id)).toEqual(['virtio0', 'virtio1', 'none0']);
    expect(s.devices.map((d) => d.drive)).toEqual(['virtio0', 'virtio1']);
    expect(errorOf(['-drive', 'file=a'])._tag).toBe('NotModelled');
    expect(errorOf(['-drive', 'file=a,if=scsi'])._tag).toBe('NotModelled');
    expect(messageOf(['-drive', 'file=a,if=bogus'])).toMatch(/unsupported bus type 'bogus'$/);
    expect(errorOf(['-drive', 'file=a,if=none,media=cdrom'])._tag).toBe('NotModelled');
  });
});

describe('-blockdev', () => {
  const dotted = 'driver=raw,node-name=d0,file.driver=file,file.filename=x.img';
  const json = '{"driver":"raw","node-name":"d0","file":{"driver":"file","filename":"x.img"}}';

  it('the dotted and JSON forms give the same drive', () => {
    const a = blkSpecOf(['-blockdev', dotted]).drives;
    expect(a).toEqual(blkSpecOf(['-blockdev', json]).drives);
    expect(a).toEqual([
      {
        id: 'd0',
        source: 'blockdev',
        file: 'x.img',
        format: 'raw',
        cache: 'writeback',
        aio: 'threads',
        discard: 'ignore',
        readOnly: false,
        blockdev: { driver: 'raw', 'node-name': 'd0', file: { driver: 'file', filename: 'x.img' } },
        options: {},
      },
    ]);
  });

  it('derives cache, aio, discard, read-only and options from the tree', () => {
    const [d] = blkSpecOf([
      '-blockdev',
      '{"driver":"qcow2","node-name":"q","read-only":true,"discard":"unmap","cache":{"direct":true},' +
        '"file":{"driver":"host_device","filename":"/dev/sdb","aio":"native","locking":"off"}}',
    ]).drives;
    expect(d).toMatchObject({ format: 'qcow2', file: '/dev/sdb', cache: 'none', aio: 'native', discard: 'unmap', readOnly: true });
    expect(d.options).toEqual({ driver: 'host_device', locking: 'off' });
    expect(d.blockdev?.['read-only']).toBe('on');
  });

  it('a protocol node alone, and a reference to another node', () => {
    expect(blkSpecOf(['-blockdev', 'driver=null-co,node-name=n0,size=1G']).drives[0]).toMatchObject({
      id: 'n0',
      options: { driver: 'null-co', size: '1G' },
    });
    const s = blkSpecOf(['-blockdev', 'driver=file,node-name=f0,filename=a', '-blockdev', 'driver=raw,node-name=r0,file=f0']);
    expect(s.drives[0]).toMatchObject({ file: 'a', options: {} });
    expect(s.drives[1]).toMatchObject({ format: 'raw', options: {} });
    expect(s.drives[1].file).toBeUndefined();
  });

  it("refuses mistakes in QEMU's words", () => {
    expect(messageOf(['-blockdev', 'driver=raw'])).toBe("qemu-system-x86_64: -blockdev driver=raw: 'node-name' must be specified for the root node");
    expect(messageOf(['-blockdev', 'node-name=x'])).toMatch(/Parameter 'driver' is missing$/);
    expect(messageOf(['-blockdev', 'driver=raw,node-name=x,file.filename=a'])).toMatch(/Parameter 'file.driver' is missing$/);
    expect(messageOf(['-blockdev', 'driver=raw,node-name=x,file=a,file.driver=file'])).toMatch(/Parameters 'file.\*' used inconsistently$/);
    expect(messageOf(['-blockdev', 'driver=raw,node-name=x,foo'])).toMatch(/Expected '=' after parameter 'foo'$/);
    expect(messageOf(['-blockdev', 'driver=raw,node-name=1x'])).toMatch(/Invalid node-name: '1x'$/);
    expect(messageOf(['-blockdev', '{"driver":'])).toMatch(/: JSON parse error, /);
    expect(messageOf(['-blockdev', 'driver=file,node-name=x,filename=a,aio=native'])).toMatch(/requires cache.direct=on/);
  });

  it('node-names are unique, and apart from drive ids', () => {
    const b = ['-blockdev', 'driver=file,node-name=x,filename=a'];
    expect(messageOf([...b, ...b])).toBe("qemu-system-x86_64: -blockdev driver=file,node-name=x,filename=a: Duplicate nodes with node-name='x'");
    expect(messageOf([...b, '-drive', 'file=b,if=none,id=x'])).toMatch(/Device name 'x' conflicts with an existing node name$/);
    expect(messageOf(['-drive', 'file=b,if=none,id=x', ...b])).toMatch(/node-name=x is conflicting with a device id$/);
  });

  it('a device uses the root node', () => {
    expect(blkSpecOf(['-blockdev', dotted, '-device', 'virtio-blk-pci,drive=d0']).devices[0].drive).toBe('d0');
  });
});
