/**
 * The features virtio-blk offers, as QEMU's virtio_blk_get_features() computes them
 * (hw/block/virtio-blk.c) on top of the property bits (config-wce, discard, write-zeroes)
 * and the common virtio bits (event_idx, indirect_desc, notify_on_empty, any_layout).
 *
 * Not offered, as in QEMU: SIZE_MAX (size_max is always 0), BARRIER, LIFETIME,
 * SECURE_ERASE, ZONED (no zoned backends here). VIRTIO_BLK_F_SCSI, which QEMU still
 * advertises to legacy (pre-VERSION_1) drivers, is left to a legacy transport.
 */
import {
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_CONFIG_WCE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_GEOMETRY,
  VIRTIO_BLK_F_MQ,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_TOPOLOGY,
  VIRTIO_BLK_F_WRITE_ZEROES,
} from '../../../hw/virtio/blk.js';
import {
  featureBits,
  hasFeature,
  type Features,
} from '../../../hw/virtio/constants.js';
import { commonFeatureBits } from '../virtio/common-features.js';
import type { VirtioBlkConf } from './props.js';

/** What the backend tells the device about itself. */
export interface BackendTraits {
  readonly writeCacheEnabled: boolean;
  readonly readOnly: boolean;
}

/** The offered feature bits. VERSION_1 is included; a legacy-only transport clears it. */
export function virtioBlkHostFeatures(conf: VirtioBlkConf, backend: BackendTraits): Features {
  const bits = [...commonFeatureBits(conf), VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_BLK_SIZE];
  if (conf['config-wce']) bits.push(VIRTIO_BLK_F_CONFIG_WCE);
  if (conf.discard) bits.push(VIRTIO_BLK_F_DISCARD);
  if (conf['write-zeroes']) bits.push(VIRTIO_BLK_F_WRITE_ZEROES);
  // "if (blk_enable_write_cache(s->blk) || (x_enable_wce_if_config_wce && has CONFIG_WCE)) add VIRTIO_BLK_F_WCE"
  if (backend.writeCacheEnabled || (conf['x-enable-wce-if-config-wce'] && conf['config-wce'])) bits.push(VIRTIO_BLK_F_FLUSH);
  if (backend.readOnly) bits.push(VIRTIO_BLK_F_RO);
  if (conf['num-queues'] > 1) bits.push(VIRTIO_BLK_F_MQ);
  return featureBits(...bits);
}

/** The negotiated bits the hot path looks at, decoded once (no bigint per request). */
export interface NegotiatedBlk {
  readonly configWce: boolean;
  readonly flush: boolean;
}

export function decodeNegotiated(f: Features): NegotiatedBlk {
  return { configWce: hasFeature(f, VIRTIO_BLK_F_CONFIG_WCE), flush: hasFeature(f, VIRTIO_BLK_F_FLUSH) };
}
