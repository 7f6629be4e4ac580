/**
 * The modern virtio-pci transport layout (virtio 1.x §4.1, transport-pci.tex).
 *
 * Vendor-specific capability (cap_vndr = 0x09), 16 bytes:
 *   +0 cap_vndr  +1 cap_next  +2 cap_len  +3 cfg_type  +4 bar  +5 id  +6 padding[2]
 *   +8 le32 offset  +12 le32 length
 * The notify capability appends +16 le32 notify_off_multiplier (cap_len 20).
 *
 * struct virtio_pci_common_cfg, by byte offset (the VIRTIO_PCI_COMMON_* names are Linux's,
 * include/uapi/linux/virtio_pci.h).
 */

export const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
/** Modern device ID = 0x1040 + virtio device ID. */
export const VIRTIO_PCI_MODERN_DEVICE_ID_BASE = 0x1040;

/* cfg_type */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;

/* capability field offsets */
export const VIRTIO_PCI_CAP_CFG_TYPE = 3;
export const VIRTIO_PCI_CAP_BAR = 4;
export const VIRTIO_PCI_CAP_ID = 5;
export const VIRTIO_PCI_CAP_OFFSET = 8;
export const VIRTIO_PCI_CAP_LENGTH = 12;
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;
export const VIRTIO_PCI_CAP_LEN = 16;
export const VIRTIO_PCI_NOTIFY_CAP_LEN = 20;

/* struct virtio_pci_common_cfg */
export const VIRTIO_PCI_COMMON_DFSELECT = 0;
export const VIRTIO_PCI_COMMON_DF = 4;
export const VIRTIO_PCI_COMMON_GFSELECT = 8;
export const VIRTIO_PCI_COMMON_GF = 12;
export const VIRTIO_PCI_COMMON_MSIX = 16;
export const VIRTIO_PCI_COMMON_NUMQ = 18;
export const VIRTIO_PCI_COMMON_STATUS = 20;
export const VIRTIO_PCI_COMMON_CFGGENERATION = 21;
export const VIRTIO_PCI_COMMON_Q_SELECT = 22;
export const VIRTIO_PCI_COMMON_Q_SIZE = 24;
export const VIRTIO_PCI_COMMON_Q_MSIX = 26;
export const VIRTIO_PCI_COMMON_Q_ENABLE = 28;
export const VIRTIO_PCI_COMMON_Q_NOFF = 30;
export const VIRTIO_PCI_COMMON_Q_DESCLO = 32;
export const VIRTIO_PCI_COMMON_Q_DESCHI = 36;
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
export const VIRTIO_PCI_COMMON_Q_USEDLO = 48;
export const VIRTIO_PCI_COMMON_Q_USEDHI = 52;
export const VIRTIO_PCI_COMMON_Q_NDATA = 56;
export const VIRTIO_PCI_COMMON_Q_RESET = 58;
export const VIRTIO_PCI_COMMON_CFG_SIZE = 64;

/* ISR status bits */
export const VIRTIO_PCI_ISR_QUEUE = 1;
export const VIRTIO_PCI_ISR_CONFIG = 2;

/**
 * QEMU's layout of the modern BAR (hw/virtio/virtio-pci.c, virtio_pci_device_plugged):
 * one 64-bit prefetchable memory BAR (`modern-mem-bar`, BAR 4) of 4 regions, each 4 KiB:
 * common @0x0000, isr @0x1000, device @0x2000, notify @0x3000 with
 * notify_off_multiplier = 4 (QEMU_VIRTIO_PCI_QUEUE_MEM_MULT), so queue n's doorbell is at
 * 0x3000 + 4·n. MSI-X table and PBA live in BAR 1 (`msix-bar`).
 */
export const QEMU_VIRTIO_PCI_MODERN_BAR = 4;
export const QEMU_VIRTIO_PCI_MSIX_BAR = 1;
export const QEMU_VIRTIO_PCI_REGION_SIZE = 0x1000;
export const QEMU_VIRTIO_PCI_COMMON_OFFSET = 0x0000;
export const QEMU_VIRTIO_PCI_ISR_OFFSET = 0x1000;
export const QEMU_VIRTIO_PCI_DEVICE_OFFSET = 0x2000;
export const QEMU_VIRTIO_PCI_NOTIFY_OFFSET = 0x3000;
export const QEMU_VIRTIO_PCI_QUEUE_MEM_MULT = 4;
