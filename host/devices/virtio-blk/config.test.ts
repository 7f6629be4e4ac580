import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as B from '../../../hw/virtio/blk.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_ID_BLOCK, hasFeature } from '../../../hw/virtio/constants.js';
import { DEFAULT_VIRTIO_BLK_PROPS, VIRTIO_BLK_PROPS, parseVirtioBlkProps, propErrorMessage, realizeVirtioBlkProps } from './props.js';
import { makeRig } from './test-utils.js';

const GiB = 1024 * 1024 * 1024;

describe('virtio-blk: config space (struct virtio_blk_config)', () => {
  it('has every field at its spec offset, little-endian', () => {
    const r = makeRig({
      diskBytes: 3 * 1024 * 1024,
      props: { 'queue-size': 128, 'num-queues': 3, logical_block_size: 4096, physical_block_size: 16384, min_io_size: 8192, opt_io_size: 65536, discard_granularity: 65536, 'max-discard-sectors': 1000, 'max-write-zeroes-sectors': 2000 },
    });
    const d = r.dev;
    expect(d.deviceId).toBe(VIRTIO_ID_BLOCK);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_CAPACITY, 8)).toBe(6144);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_CAPACITY, 4)).toBe(6144);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_CAPACITY + 4, 4)).toBe(0);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_SIZE_MAX, 4)).toBe(0);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_SEG_MAX, 4)).toBe(126);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY, 2)).toBe(6); // guess_chs_for_size: 6144 / (16 * 63)
    expect(d.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY + 2, 1)).toBe(16);
    // 3 MiB / 16 / 63 is not a multiple of 4096: sectors rounded down to whole 4K blocks (63 & ~7).
    expect(d.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY + 3, 1)).toBe(56);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_BLK_SIZE, 4)).toBe(4096);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, 1)).toBe(2);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_ALIGNMENT_OFFSET, 1)).toBe(0);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MIN_IO_SIZE, 2)).toBe(2);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_OPT_IO_SIZE, 4)).toBe(16);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(1);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_NUM_QUEUES, 2)).toBe(3);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4)).toBe(1000);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4)).toBe(1);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 4)).toBe(128);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4)).toBe(2000);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 4)).toBe(1);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1)).toBe(1);
    expect(d.configSize).toBe(0x39);
    expect(d.readConfig(0x38, 2)).toBe(0); // crosses the end of the exposed config
    expect(d.readConfig(0x100, 4)).toBe(0);
  });

  it('geometry: 16 heads, 63 sectors, cylinders from the size (capped at 16383); given CHS used as is', () => {
    const big = makeRig({ diskBytes: 64 * 1024 * 1024 });
    expect(big.dev.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY, 2)).toBe(130); // 131072 / 1008
    expect(big.dev.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY + 3, 1)).toBe(63);
    const chs = makeRig({ props: { cyls: 100, heads: 4, secs: 32 } });
    expect([0, 2, 3].map((o) => chs.dev.readConfig(B.VIRTIO_BLK_CFG_GEOMETRY + o, o === 0 ? 2 : 1))).toEqual([100, 4, 32]);
  });

  it('seg_max = queue-size - 2, or 126 with seg-max-adjust=off; capacity above 2^32 sectors', () => {
    expect(makeRig().dev.readConfig(B.VIRTIO_BLK_CFG_SEG_MAX, 4)).toBe(254);
    expect(makeRig({ props: { 'seg-max-adjust': false } }).dev.readConfig(B.VIRTIO_BLK_CFG_SEG_MAX, 4)).toBe(126);
    const huge = makeRig({ diskBytes: 1024 * 1024 });
    // A 4 TiB disk: capacity 2^33 sectors, through a stubbed length.
    (huge.backend as { length: () => number }).length = () => 4096 * GiB;
    expect(huge.dev.readConfig(B.VIRTIO_BLK_CFG_CAPACITY, 8)).toBe(2 ** 33);
    expect(huge.dev.readConfig(B.VIRTIO_BLK_CFG_CAPACITY + 4, 4)).toBe(2);
  });

  it('config size follows the features: 0x24 without discard/write-zeroes, 0x30 with discard only', () => {
    expect(makeRig({ props: { discard: false, 'write-zeroes': false } }).dev.configSize).toBe(0x24);
    const d = makeRig({ props: { 'write-zeroes': false } }).dev;
    expect(d.configSize).toBe(0x30);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4)).toBe(0);
  });

  it('writes outside writeback are ignored', () => {
    const d = makeRig().dev;
    d.writeConfig(B.VIRTIO_BLK_CFG_CAPACITY, 8, 5);
    d.writeConfig(B.VIRTIO_BLK_CFG_NUM_QUEUES, 2, 7);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_CAPACITY, 8)).toBe(2048);
    expect(d.readConfig(B.VIRTIO_BLK_CFG_NUM_QUEUES, 2)).toBe(1);
  });
});

describe('virtio-blk: offered features', () => {
  const has = (f: bigint, ...bits: number[]) => bits.map((b) => hasFeature(f, b));
  it('defaults: VERSION_1, EVENT_IDX, INDIRECT_DESC, SEG_MAX, GEOMETRY, BLK_SIZE, TOPOLOGY, FLUSH, CONFIG_WCE, DISCARD, WRITE_ZEROES; no SIZE_MAX, RO, MQ', () => {
    const f = makeRig().dev.hostFeatures();
    expect(has(f, VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, B.VIRTIO_BLK_F_SEG_MAX, B.VIRTIO_BLK_F_GEOMETRY, B.VIRTIO_BLK_F_BLK_SIZE)).toEqual(Array(6).fill(true));
    expect(has(f, B.VIRTIO_BLK_F_TOPOLOGY, B.VIRTIO_BLK_F_FLUSH, B.VIRTIO_BLK_F_CONFIG_WCE, B.VIRTIO_BLK_F_DISCARD, B.VIRTIO_BLK_F_WRITE_ZEROES)).toEqual(Array(5).fill(true));
    expect(has(f, B.VIRTIO_BLK_F_SIZE_MAX, B.VIRTIO_BLK_F_RO, B.VIRTIO_BLK_F_MQ)).toEqual([false, false, false]);
  });

  it('properties and the drive change them', () => {
    const f = makeRig({ readOnly: true, props: { event_idx: false, indirect_desc: false, discard: false, 'write-zeroes': false, 'num-queues': 4 } }).dev.hostFeatures();
    expect(has(f, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, B.VIRTIO_BLK_F_DISCARD, B.VIRTIO_BLK_F_WRITE_ZEROES)).toEqual([false, false, false, false]);
    expect(has(f, B.VIRTIO_BLK_F_RO, B.VIRTIO_BLK_F_MQ)).toEqual([true, true]);
    // FLUSH needs a write cache or CONFIG_WCE (x-enable-wce-if-config-wce).
    expect(has(makeRig({ writeCache: false, props: { 'config-wce': false } }).dev.hostFeatures(), B.VIRTIO_BLK_F_FLUSH, B.VIRTIO_BLK_F_CONFIG_WCE)).toEqual([false, false]);
    expect(has(makeRig({ writeCache: false }).dev.hostFeatures(), B.VIRTIO_BLK_F_FLUSH)).toEqual([true]);
  });

  it("num-queues=auto follows the caller's vCPU count; queue sizes come from queue-size", () => {
    const r = makeRig({ autoNumQueues: 6, props: { 'queue-size': 512 } });
    expect(r.dev.numQueues()).toBe(6);
    expect(r.dev.queueMaxSize(5)).toBe(512);
    expect(makeRig().dev.numQueues()).toBe(1);
    expect(makeRig({ props: { 'queue-size': undefined } }).dev.queueMaxSize(0)).toBe(256);
  });
});

describe('virtio-blk: properties', () => {
  it('every property has a default and help', () => {
    for (const [name, d] of Object.entries(VIRTIO_BLK_PROPS)) {
      expect(d.help.length, name).toBeGreaterThan(10);
      expect((DEFAULT_VIRTIO_BLK_PROPS as unknown as Record<string, unknown>)[name]).toBe(d.default);
    }
  });

  it('parses command-line strings and leaves foreign keys alone', () => {
    const p = parseVirtioBlkProps({ 'num-queues': '4', 'queue-size': '0x80', discard: 'off', logical_block_size: '4k', serial: 'x', drive: 'd0' });
    expect(E.isRight(p) && [p.right['num-queues'], p.right['queue-size'], p.right.discard, p.right.logical_block_size, p.right.serial]).toEqual([4, 128, false, 4096, 'x']);
    expect(E.isRight(parseVirtioBlkProps({ 'num-queues': 'auto' }))).toBe(true);
  });

  const msg = (r: E.Either<Parameters<typeof propErrorMessage>[0], unknown>) => (E.isLeft(r) ? propErrorMessage(r.left) : 'ok');
  it.each([
    [{ 'queue-size': 'big' }, `Property 'virtio-blk.queue-size' expects a uint16, got "big"`],
    [{ 'queue-size': 70000 }, `Property 'virtio-blk.queue-size' expects a uint16, got 70000`],
    [{ discard: 'maybe' }, `Property 'virtio-blk.discard' expects 'on' or 'off', got "maybe"`],
    [{ logical_block_size: 1000 }, `Property virtio-blk.logical_block_size doesn't take value '1000', it's not a power of 2`],
    [{ logical_block_size: 256 }, `Property virtio-blk.logical_block_size doesn't take value 256 (minimum: 512, maximum: 2 MiB)`],
  ])('parse %j → %s', (given, expected) => expect(msg(parseVirtioBlkProps(given))).toBe(expected));

  it.each([
    [{ 'num-queues': 0 }, 'num-queues property must be larger than 0'],
    [{ 'queue-size': 2 }, 'invalid queue-size property (2), must be > 2'],
    [{ 'queue-size': 100 }, 'invalid queue-size property (100), must be a power of 2 (max 1024)'],
    [{ 'queue-size': 2048 }, 'invalid queue-size property (2048), must be a power of 2 (max 1024)'],
    [{ logical_block_size: 4096, physical_block_size: 512 }, 'logical_block_size > physical_block_size not supported'],
    [{ logical_block_size: 4096, physical_block_size: 4096, min_io_size: 512 }, 'min_io_size must be a multiple of logical_block_size'],
    [{ logical_block_size: 4096 }, 'logical_block_size > physical_block_size not supported'],
    [{ 'max-discard-sectors': 0 }, 'invalid max-discard-sectors property (0), must be between 1 and 4194303'],
    [{ 'max-write-zeroes-sectors': 4194304 }, 'invalid max-write-zeroes-sectors property (4194304), must be between 1 and 4194303'],
    [{ 'max-discard-sectors': 0, discard: false }, 'ok'],
    [{ heads: 300, cyls: 1, secs: 1 }, 'heads must be between 1 and 255'],
  ] as const)('realize %j → %s', (given, expected) => {
    expect(msg(realizeVirtioBlkProps({ ...DEFAULT_VIRTIO_BLK_PROPS, ...given }, GiB))).toBe(expected);
  });
});
