/**
 * The features virtio-scsi offers, as QEMU 7.2's virtio_scsi_get_features() computes them:
 * the property bits `hotplug` (VIRTIO_SCSI_F_HOTPLUG) and `param_change`
 * (VIRTIO_SCSI_F_CHANGE) on top of the common virtio bits. VIRTIO_SCSI_F_INOUT (one request
 * with both data-out and data-in) and VIRTIO_SCSI_F_T10_PI are never offered: QEMU fails a
 * bidirectional request with VIRTIO_SCSI_S_FAILURE, and only vhost-scsi has T10 PI.
 */
import { VIRTIO_SCSI_F_CHANGE, VIRTIO_SCSI_F_HOTPLUG } from '../../../hw/virtio/scsi.js';
import {
  VIRTIO_F_ANY_LAYOUT,
  featureBits,
  hasFeature,
  type Features,
} from '../../../hw/virtio/constants.js';
import { commonFeatureBits } from '../virtio/common-features.js';
import type { VirtioScsiConf } from './props.js';

/** The offered feature bits. VERSION_1 is included; the modern transport drops the legacy-only ones. */
export function virtioScsiHostFeatures(conf: VirtioScsiConf): Features {
  const bits = commonFeatureBits(conf);
  if (conf.hotplug) bits.push(VIRTIO_SCSI_F_HOTPLUG);
  if (conf.param_change) bits.push(VIRTIO_SCSI_F_CHANGE);
  return featureBits(...bits);
}

/** The negotiated bits the device looks at, decoded once. */
export interface NegotiatedScsi {
  readonly hotplug: boolean;
  readonly change: boolean;
  /**
   * VIRTIO_F_ANY_LAYOUT. A modern transport never offers it (it is legacy-only), so a
   * modern driver never has it and QEMU takes the first device-readable buffer as the whole
   * request header and the first device-writable one as the whole response ("old BIOSes left
   * some padding"), whatever their lengths.
   */
  readonly anyLayout: boolean;
}

export const NOTHING_NEGOTIATED: NegotiatedScsi = { hotplug: false, change: false, anyLayout: false };

export function decodeNegotiatedScsi(f: Features): NegotiatedScsi {
  return { hotplug: hasFeature(f, VIRTIO_SCSI_F_HOTPLUG), change: hasFeature(f, VIRTIO_SCSI_F_CHANGE), anyLayout: hasFeature(f, VIRTIO_F_ANY_LAYOUT) };
}
