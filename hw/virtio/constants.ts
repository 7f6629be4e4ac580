/**
 * VIRTIO 1.x constants, under their spec names.
 * Spec: virtio-v1.x, "Basic Facilities of a Virtio Device" (content.tex) and
 * "Split Virtqueues" (split-ring.tex); Linux include/uapi/linux/virtio_{config,ring}.h.
 */

/* Device status field (2.1) */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/* Reserved feature bits (6) */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;

/* Split virtqueue flags (2.7) */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Largest split queue size (2.7: "The maximum Queue Size value is 32768"). */
export const VIRTQUEUE_MAX_SIZE = 32768;

/* Device IDs (5) */
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_SCSI = 8;

/** MSI-X "no vector" (4.1.4.3 / 4.1.5.1.2). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** A feature set as a 64-bit mask. bigint keeps bits 32..63 exact. */
export type Features = bigint;

export function hasFeature(f: Features, bit: number): boolean {
  return ((f >> BigInt(bit)) & 1n) === 1n;
}

export function withFeature(f: Features, bit: number, on = true): Features {
  return on ? f | (1n << BigInt(bit)) : f & ~(1n << BigInt(bit));
}

export function featureBits(...bits: number[]): Features {
  return bits.reduce((f, b) => withFeature(f, b), 0n);
}
