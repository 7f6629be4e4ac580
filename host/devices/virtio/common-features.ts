/**
 * The feature bits every virtio device offers from its common properties (QEMU's
 * DEFINE_VIRTIO_COMMON_FEATURES: `event_idx`, `indirect_desc`, `notify_on_empty`,
 * `any_layout`), with VIRTIO_F_VERSION_1: the start of each device's host features.
 */
import { VIRTIO_F_ANY_LAYOUT, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_VERSION_1 } from '../../../hw/virtio/constants.js';

/** The common virtio properties a device's configuration carries. */
export interface VirtioCommonConf {
  readonly event_idx: boolean;
  readonly indirect_desc: boolean;
  readonly notify_on_empty: boolean;
  readonly any_layout: boolean;
}

/** VERSION_1 and the common bits `conf` turns on, as bit numbers for featureBits(). */
export function commonFeatureBits(conf: VirtioCommonConf): number[] {
  const bits: number[] = [VIRTIO_F_VERSION_1];
  if (conf.event_idx) bits.push(VIRTIO_F_EVENT_IDX);
  if (conf.indirect_desc) bits.push(VIRTIO_F_INDIRECT_DESC);
  if (conf.notify_on_empty) bits.push(VIRTIO_F_NOTIFY_ON_EMPTY);
  if (conf.any_layout) bits.push(VIRTIO_F_ANY_LAYOUT);
  return bits;
}
