import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { vmErrorMessage } from '../errors.js';
import { closeMachine } from '../power.js';
import { startMachine } from '../machine.js';
import { hostImage } from '../testing.js';
import { BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED, permNames } from './block-perm.js';
import { formatQemuArgs } from './index.js';
import { messageOf, specOf } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-share-rw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WWN = 'wwn=0x5000c50015ea71ac';
const NODE = ['-blockdev', 'driver=file,filename=d.img,node-name=lun0'];
const HBAS = ['-device', 'virtio-scsi-pci,id=scsi0', '-device', 'virtio-scsi-pci,id=scsi1'];
const hd = (bus: string, extra: string) => ['-device', `scsi-hd,bus=${bus},drive=lun0${extra},${WWN}`];
/** The command line: one node, a scsi-hd on each HBA, both share-rw=on. */
const TWO_PATHS = [...NODE, ...HBAS, ...hd('scsi0.0', ',share-rw=on'), ...hd('scsi1.0', ',share-rw=on')];

describe('share-rw: several devices on one -blockdev node', () => {
  it("takes the issue's command line: both scsi-hds use node lun0, share-rw on", () => {
    const spec = specOf(TWO_PATHS);
    const disks = spec.devices.filter((d) => d.driver === 'scsi-hd');
    expect(disks.map((d) => [d.bus, d.drive, d.shareRw])).toEqual([
      ['scsi0.0', 'lun0', true],
      ['scsi1.0', 'lun0', true],
    ]);
    // It prints back with share-rw and parses to the same spec.
    const argv = formatQemuArgs(spec);
    expect(argv.filter((a) => a.includes('share-rw=on'))).toHaveLength(2);
    expect(specOf(argv)).toEqual(spec);
  });

  it("refuses a second writer without share-rw on both, with QEMU's permission message", () => {
    const anon1 = `block device '/machine/peripheral-anon/device[1]'`;
    const anon0 = `block device '/machine/peripheral-anon/device[0]'`;
    const uses = " (uses node 'lun0' as 'root' child)";
    const second = (extra: string) => `-device scsi-hd,bus=scsi1.0,drive=lun0${extra},${WWN}`;
    // Neither shares: the newcomer does not share the write the first one needs.
    expect(messageOf([...NODE, ...HBAS, ...hd('scsi0.0', ''), ...hd('scsi1.0', '')])).toBe(
      `qemu-system-x86_64: ${second('')}: Permission conflict on node 'lun0': permissions 'write' are both required by ${anon0}${uses} and unshared by ${anon1}${uses}.`,
    );
    // Only the newcomer shares: the first one does not share what the newcomer needs.
    expect(messageOf([...NODE, ...HBAS, ...hd('scsi0.0', ''), ...hd('scsi1.0', ',share-rw=on')])).toBe(
      `qemu-system-x86_64: ${second(',share-rw=on')}: Permission conflict on node 'lun0': permissions 'write' are both required by ${anon1}${uses} and unshared by ${anon0}${uses}.`,
    );
    // With ids, QEMU names the devices by id.
    expect(messageOf([...NODE, ...HBAS, ...hd('scsi0.0', ',id=p0,share-rw=on'), ...hd('scsi1.0', ',id=p1')])).toContain(
      `required by block device 'p0'${uses} and unshared by block device 'p1'${uses}.`,
    );
  });

  it('keeps the -drive rule: a -drive is one device\'s, share-rw or not', () => {
    const drive = ['-drive', 'if=none,id=d0,file=d.img,format=raw'];
    const on = (bus: string) => ['-device', `scsi-hd,bus=${bus},drive=d0,share-rw=on`];
    expect(messageOf([...drive, ...HBAS, ...on('scsi0.0'), ...on('scsi1.0')])).toBe(
      "qemu-system-x86_64: -device scsi-hd,bus=scsi1.0,drive=d0,share-rw=on: Drive 'd0' is already in use by another device",
    );
  });

  it('readers need no share-rw between them; a reader beside a writer does', () => {
    const ro = ['-blockdev', 'driver=file,filename=d.img,node-name=lun0,read-only=on'];
    expect(specOf([...ro, ...HBAS, ...hd('scsi0.0', ''), ...hd('scsi1.0', '')]).devices).toHaveLength(4);
    // A scsi-cd never writes, but shares no write either: the scsi-hd beside it conflicts.
    const cd = ['-device', 'scsi-cd,bus=scsi1.0,drive=lun0,id=cd0'];
    expect(messageOf([...NODE, ...HBAS, ...hd('scsi0.0', ',id=p0,share-rw=on'), ...cd])).toContain(
      "permissions 'write' are both required by block device 'p0' (uses node 'lun0' as 'root' child) and unshared by block device 'cd0'",
    );
    expect(specOf([...NODE, ...HBAS, ...hd('scsi0.0', ',share-rw=on'), '-device', 'scsi-cd,bus=scsi1.0,drive=lun0,share-rw=on']).devices).toHaveLength(4);
  });

  it("virtio-blk-pci has share-rw too; its backend belongs to the virtio-blk device inside the proxy", () => {
    const blk = (id: string, extra: string) => ['-device', `virtio-blk-pci,id=${id},drive=lun0${extra}`];
    expect(specOf([...NODE, ...blk('vd0', ',share-rw=on'), ...blk('vd1', ',share-rw=on')]).devices.map((d) => d.driver === 'virtio-blk-pci' && d.shareRw)).toEqual([true, true]);
    expect(messageOf([...NODE, ...blk('vd0', ',share-rw=on'), ...blk('vd1', '')])).toBe(
      "qemu-system-x86_64: -device virtio-blk-pci,id=vd1,drive=lun0: Permission conflict on node 'lun0': permissions 'write' are both required by " +
        "block device '/machine/peripheral/vd0/virtio-backend' (uses node 'lun0' as 'root' child) and unshared by " +
        "block device '/machine/peripheral/vd1/virtio-backend' (uses node 'lun0' as 'root' child).",
    );
    // A scsi-hd and a virtio-blk-pci on one node, both sharing.
    expect(specOf([...NODE, ...HBAS, ...hd('scsi0.0', ',share-rw=on'), ...blk('vd0', ',share-rw=on')]).devices).toHaveLength(4);
  });

  it("names permissions as bdrv_perm_names does", () => {
    expect(permNames(BLK_PERM_WRITE)).toBe('write');
    expect(permNames(BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED | BLK_PERM_RESIZE)).toBe('consistent read, write, write unchanged, resize');
    expect(permNames(0)).toBe('');
  });
});

describe("the issue's command line boots", () => {
  it('with two paths to one node: sda and sdb, each scsi-hd with a BlockBackend of its own', () => {
    hostImage(dir, 'd.img', 4 << 20);
    const argv = TWO_PATHS.map((a) => a.replace('filename=d.img', `filename=${join(dir, 'd.img')}`));
    const m = startMachine(specOf(['-m', '256M', ...argv]));
    if (E.isLeft(m)) throw new Error(vmErrorMessage(m.left));
    const { host, guest } = m.right;
    expect([...guest.sd.disks.keys()]).toEqual(['sda', 'sdb']);
    expect([...guest.devices.keys()]).toEqual(['/dev/sda', '/dev/sdb']);
    const [a, b] = host.scsiHbas.map((h) => h.disks[0]);
    expect([a.spec.drive, b.spec.drive]).toEqual(['lun0', 'lun0']);
    // Two backends, one node: the drive's own for the first device, a new one for the second.
    const drive = host.drives.get('lun0')!;
    expect(drive.graph.backends.map((x) => x.root)).toEqual([drive.blk.root, drive.blk.root]);
    expect(host.storage.sharedBackends.size).toBe(1);
    closeMachine(m.right);
  });
});
