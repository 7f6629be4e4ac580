import { describe, expect, it } from 'vitest';
import { flatFromSpec, PCI_MSIX_MAX_VECTORS, specFromFlat, virtioPciProxyCheck, virtioPciProxyProps, type VirtioPciProxyFields } from './virtio-pci-proxy.js';

const proxy: VirtioPciProxyFields = { ioeventfd: true, vectors: 4, disableLegacy: true, modernPioNotify: false };

describe('virtio PCI proxy (shared by virtio-blk-pci and virtio-scsi-pci)', () => {
  it('declares the proxy properties in order, with the caller’s vectors default', () => {
    const decls = virtioPciProxyProps<VirtioPciProxyFields & { q?: number }>({ describe: 'q + 2', compute: (_ctx, s) => (s.q ?? 1) + 2, help: 'h' });
    expect(decls.map((d) => d.name)).toEqual(['ioeventfd', 'vectors', 'iothread', 'disable-legacy', 'modern-pio-notify', 'addr']);
    const v = decls[1]!;
    expect(v.default.kind === 'computed' ? [v.default.describe, v.default.compute({ cpus: 1 }, { q: 5 })] : undefined).toEqual(['q + 2', 7]);
  });

  it('splits a flat record into a spec with the device’s keys under props, and back', () => {
    const spec = specFromFlat<{ driver: 'x'; id?: string; props: { a: number }; vectors: number }>('x', { a: 0 }, { a: 3, vectors: 2 }, 'd0');
    expect(spec).toEqual({ driver: 'x', id: 'd0', props: { a: 3 }, vectors: 2 });
    expect(specFromFlat('x', { a: 0 }, { a: 3 }, undefined)).toEqual({ driver: 'x', props: { a: 3 } });
    expect(flatFromSpec(spec)).toEqual({ a: 3, vectors: 2 });
  });

  it('refuses more than 2048 vectors and an iothread without ioeventfd', () => {
    expect(virtioPciProxyCheck('t', { ...proxy, vectors: PCI_MSIX_MAX_VECTORS }, 'L')).toBeUndefined();
    expect(virtioPciProxyCheck('t', { ...proxy, vectors: PCI_MSIX_MAX_VECTORS + 1 }, 'L')).toMatchObject({ _tag: 'PropertyValueOutOfRange', type: 't', prop: 'vectors', max: 2048 });
    expect(virtioPciProxyCheck('t', { ...proxy, iothread: 'io0', ioeventfd: false }, 'L')).toEqual({ _tag: 'IothreadNeedsIoeventfd', loc: 'L' });
    expect(virtioPciProxyCheck('t', { ...proxy, iothread: 'io0' }, 'L')).toBeUndefined();
  });
});
