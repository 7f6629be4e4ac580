import { describe, expect, it } from 'vitest';
import { VIRTIO_F_ANY_LAYOUT, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_VERSION_1 } from '../../../hw/virtio/constants.js';
import { commonFeatureBits } from './common-features.js';

describe('commonFeatureBits (DEFINE_VIRTIO_COMMON_FEATURES)', () => {
  it('always VERSION_1, then each common property that is on', () => {
    const off = { event_idx: false, indirect_desc: false, notify_on_empty: false, any_layout: false };
    expect(commonFeatureBits(off)).toEqual([VIRTIO_F_VERSION_1]);
    expect(commonFeatureBits({ ...off, indirect_desc: true, any_layout: true })).toEqual([VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_ANY_LAYOUT]);
    expect(commonFeatureBits({ event_idx: true, indirect_desc: true, notify_on_empty: true, any_layout: true })).toEqual([
      VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_ANY_LAYOUT,
    ]);
  });
});
