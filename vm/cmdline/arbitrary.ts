/**
 * fast-check generators of valid VmSpecs: every spec they produce is one `parseQemuArgs`
 * could have produced (ids unique and well formed, references resolved, values in range,
 * derived fields consistent with their source). Test support for the round-trip property
 * here and for the end-to-end suites in properties/.
 */
import { ON_ERROR_VALUES } from '../../host/devices/block-error.js';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { BDRV_REQUEST_MAX_SECTORS, type VirtioBlkProps } from '../../host/devices/virtio-blk/index.js';
import type { BlockdevOptions, DriveSpec, KvmSpec, VirtioBlkPciSpec, VmSpec } from '../spec.js';
import { driveFromBlockdev } from './blockdev.js';
import { isEmptyDrive } from './drive.js';

const ident = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,6}$/);
const anyText = fc.string({ maxLength: 12 });
const pow2 = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((e) => 2 ** e);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** `{ ...only(k, v) }` adds `k` only when `v` is defined, as the parser does. */
const only = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> =>
  (v === undefined ? {} : { [k]: v }) as Partial<Record<K, V>>;

/** A `-drive if=none` spec. */
function driveArb(id: string): fc.Arbitrary<DriveSpec> {
  return fc
    .record({
      file: opt(anyText),
      format: opt(fc.constantFrom('raw', 'qcow2')),
      protocol: opt(fc.constantFrom('null-co', 'memory')),
      cache: fc.constantFrom('writeback', 'none', 'writethrough', 'directsync', 'unsafe'),
      aio: fc.constantFrom('threads', 'native', 'io_uring'),
      discard: fc.constantFrom('ignore', 'unmap'),
      readOnly: fc.boolean(),
      options: fc.dictionary(fc.constantFrom('size', 'latency-ns', 'werror', 'x-test'), anyText, { maxKeys: 3 }),
    })
    .map((r) => {
      const direct = r.cache === 'none' || r.cache === 'directsync';
      const protocol = r.file === undefined && r.format === undefined ? r.protocol : undefined;
      return {
        id,
        source: 'drive',
        ...only('file', r.file),
        ...only('format', r.format),
        cache: r.cache,
        aio: r.aio === 'native' && !direct ? 'threads' : r.aio,
        discard: r.discard,
        readOnly: r.readOnly,
        options: { ...r.options, ...only('driver', protocol) },
      } as DriveSpec;
    });
}

/** A `-blockdev` spec: a protocol node alone, or a format node over one. */
function blockdevArb(id: string): fc.Arbitrary<DriveSpec> {
  const onOff = opt(fc.constantFrom('on', 'off'));
  const fileLeaf = fc
    .record({ filename: anyText, aio: opt(fc.constantFrom('threads', 'io_uring')), direct: onOff })
    .map((r) => ({ driver: 'file', filename: r.filename, ...only('aio', r.aio), ...(r.direct ? { cache: { direct: r.direct } } : {}) }));
  const nullLeaf = fc.record({ size: fc.constantFrom('1G', '64M'), lat: opt(fc.constantFrom('0', '1000')) }).map((r) => ({
    driver: 'null-co',
    size: r.size,
    ...only('latency-ns', r.lat),
  }));
  const leaf = fc.oneof(fileLeaf, nullLeaf);
  const top = fc.record({ ro: onOff, discard: opt(fc.constantFrom('unmap', 'ignore')) });
  const tree: fc.Arbitrary<BlockdevOptions> = fc.oneof(
    fc.tuple(leaf, top).map(([l, t]) => ({ ...l, 'node-name': id, ...only('read-only', t.ro), ...only('discard', t.discard) })),
    fc.tuple(leaf, top, fc.constantFrom('raw', 'qcow2'), fc.boolean()).map(([l, t, fmt, named]) => ({
      driver: fmt,
      'node-name': id,
      ...only('read-only', t.ro),
      ...only('discard', t.discard),
      file: named ? { ...l, 'node-name': `${id}-file` } : l,
    })),
  );
  return tree.map((t) => driveFromBlockdev(t, 'arbitrary')).filter(E.isRight).map((r) => r.right);
}

/**
 * The virtio-blk device's own properties, each in its valid range and consistent with the
 * others as the device's realize demands (sizes multiples of the logical block size, the
 * logical size not above the physical, a whole geometry or none, discard limits 1..4194303).
 */
function virtioBlkPropsArb(): fc.Arbitrary<VirtioBlkProps> {
  const bool = fc.boolean();
  const blockSizes = fc.tuple(pow2(9, 21), pow2(9, 21), bool, bool).map(([a, b, unsetL, unsetP]) => {
    const l = unsetL ? 0 : Math.min(a, b);
    const p = unsetP && (l || 512) === 512 ? 0 : Math.max(a, b);
    return { l, p };
  });
  const geometry = fc.oneof(
    fc.constant({ cyls: 0, heads: 0, secs: 0 }),
    fc.record({ cyls: fc.integer({ min: 1, max: 65535 }), heads: fc.integer({ min: 1, max: 255 }), secs: fc.integer({ min: 1, max: 255 }) }),
  );
  const sectors = fc.integer({ min: 1, max: BDRV_REQUEST_MAX_SECTORS });
  const blocks = fc.integer({ min: 0, max: 64 });
  return fc
    .record({
      'num-queues': fc.oneof(fc.constant<'auto'>('auto'), fc.integer({ min: 1, max: 16 })),
      'queue-size': pow2(2, 10),
      'seg-max-adjust': bool,
      event_idx: bool,
      indirect_desc: bool,
      notify_on_empty: bool,
      any_layout: bool,
      serial: anyText,
      'config-wce': bool,
      'x-enable-wce-if-config-wce': bool,
      'request-merging': bool,
      discard: bool,
      'write-zeroes': bool,
      'report-discard-granularity': bool,
      'max-discard-sectors': sectors,
      'max-write-zeroes-sectors': sectors,
      sizes: blockSizes,
      minIo: blocks,
      optIo: blocks,
      granularity: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
      geometry,
      rerror: fc.constantFrom(...ON_ERROR_VALUES),
      werror: fc.constantFrom(...ON_ERROR_VALUES),
    })
    .map(({ sizes, minIo, optIo, granularity, geometry, ...r }) => {
      const lbs = sizes.l || 512;
      return {
        ...r,
        logical_block_size: sizes.l,
        physical_block_size: sizes.p,
        min_io_size: minIo * lbs,
        opt_io_size: optIo * lbs,
        discard_granularity: granularity === undefined ? -1 : granularity * lbs,
        ...geometry,
      };
    });
}

function deviceArb(drive: string, iothreads: readonly string[], id: string | undefined, addr: number | undefined) {
  return fc
    .record({
      props: virtioBlkPropsArb(),
      ioeventfd: fc.boolean(),
      vectors: fc.integer({ min: 0, max: 2048 }),
      iothread: iothreads.length ? opt(fc.constantFrom(...iothreads)) : fc.constant(undefined),
      disableLegacy: fc.boolean(),
      modernPioNotify: fc.boolean(),
      shareRw: fc.boolean(),
    })
    .map(({ iothread, ...r }): VirtioBlkPciSpec => ({
      driver: 'virtio-blk-pci',
      ...only('id', id),
      drive,
      ...r,
      ioeventfd: r.ioeventfd || iothread !== undefined,
      ...only('iothread', iothread),
      ...only('addr', addr),
    }));
}

const kvmArb: fc.Arbitrary<KvmSpec> = fc.record({
  apicv: fc.boolean(),
  pvEoi: fc.boolean(),
  haltPollNs: fc.oneof(fc.constant(200_000), fc.integer({ min: 0, max: 2_000_000 })),
});

/** A valid VmSpec. */
export function arbVmSpec(): fc.Arbitrary<VmSpec> {
  return fc
    .record({
      memBytes: fc.integer({ min: 1, max: 2 ** 27 }).map((n) => n * 8192),
      memPrealloc: fc.boolean(),
      cpus: fc.integer({ min: 1, max: 64 }),
      iothreads: fc.uniqueArray(ident, { maxLength: 3 }),
      driveIds: fc.uniqueArray(ident, { maxLength: 4 }),
      kvm: kvmArb,
    })
    .chain((base) =>
      fc
        .tuple(...base.driveIds.map((id) => fc.oneof(driveArb(id), blockdevArb(id))))
        .chain((drives) => {
          const usable = drives.filter((d) => !isEmptyDrive(d)).map((d) => d.id);
          return fc
            .tuple(fc.subarray(usable), fc.uniqueArray(ident, { maxLength: 4 }), fc.uniqueArray(fc.integer({ min: 1, max: 31 }), { maxLength: 4 }))
            .chain(([used, devIds, slots]) =>
              fc.tuple(...used.map((d, i) => deviceArb(d, base.iothreads, devIds[i], slots[i]))),
            )
            .map((devices) => ({
              memBytes: base.memBytes,
              memPrealloc: base.memPrealloc,
              smp: { cpus: base.cpus },
              iothreads: base.iothreads.map((id) => ({ id })),
              drives,
              devices,
              kvm: base.kvm,
            }));
        }),
    );
}
