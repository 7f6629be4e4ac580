/**
 * The property types device tables are built from, each QEMU's counterpart in
 * hw/core/qdev-properties.c and qdev-properties-system.c: bool, uintN, str, size32, the
 * block-size type (DEFINE_PROP_BLOCKSIZE), the PCI address (DEFINE_PROP_PCI_DEVFN),
 * OnOffAuto, and the two references a virtio-blk device makes: its drive and its iothread.
 * `MODEL_PROP_CODECS` picks the codec for each type a device model declares its own
 * properties with.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { VirtioBlkPropType } from '../../host/devices/virtio-blk/index.js';
import type { CmdlineError } from './errors.js';
import { formatBool, parseBool, parseQemuSize, parseUint } from './opts.js';
import type { PropSite, PropType } from './props.js';
import { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../../host/devices/block-conf.js';
import { isOnError, type OnError } from '../../host/devices/block-error.js';

export const boolProp: PropType<boolean> = {
  name: 'bool',
  parse(raw, site) {
    const b = parseBool(raw);
    return b === undefined
      ? E.left({ _tag: 'ParameterExpects', loc: site.loc, param: site.prop, expects: "'on' or 'off'" })
      : E.right(b);
  },
  format: formatBool,
};

/** An unsigned integer of `bits` bits, as `DEFINE_PROP_UINT16/32`. */
export function uintProp(bits: 8 | 16 | 32): PropType<number> {
  const max = 2 ** bits - 1;
  return {
    name: `uint${bits}`,
    parse(raw, site) {
      const n = parseUint(raw);
      if (n === undefined) return E.left(valueBad(site, raw));
      if (n > max) return E.left({ _tag: 'ParameterExpects', loc: site.loc, param: site.prop, expects: `uint${bits}` });
      return E.right(n);
    },
    format: (n) => String(n),
  };
}

const uint16Prop = uintProp(16);

export const strProp: PropType<string> = {
  name: 'str',
  parse: (raw) => E.right(raw),
  format: (s) => s,
};

/** QEMU's MIN_BLOCK_SIZE and MAX_BLOCK_SIZE (include/hw/block/block.h, QEMU ≥ 5.1), declared once with the devices' checks. */
export { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE };

/**
 * A logical or physical block size: a size (`4k` allowed), a power of 2 in 512..2 MiB, or
 * 0 for unset (the backend's), as QEMU's set_blocksize() / check_block_size().
 */
export const blockSizeProp: PropType<number> = {
  name: 'size',
  parse(raw, site) {
    const r = parseQemuSize(raw);
    if ('error' in r) return E.left(valueBad(site, raw));
    const v = r.ok;
    if (v === 0) return E.right(0);
    if (v < MIN_BLOCK_SIZE || v > MAX_BLOCK_SIZE) {
      return E.left({
        _tag: 'PropertyValueOutOfRange',
        loc: site.loc,
        type: site.type,
        prop: site.prop,
        value: v,
        min: MIN_BLOCK_SIZE,
        max: MAX_BLOCK_SIZE,
      });
    }
    if ((v & (v - 1)) !== 0) {
      return E.left({ _tag: 'PropertyValueNotPowerOf2', loc: site.loc, type: site.type, prop: site.prop, value: v });
    }
    return E.right(v);
  },
  format: (n) => String(n),
};

const UINT32_MAX = 0xffffffff;

/**
 * A byte count below 4 GiB (DEFINE_PROP_SIZE32): a size, `4k` allowed. -1 (QEMU's
 * UINT32_MAX, also accepted as `4294967295`) is the "unset" value the device tables use.
 */
export const size32Prop: PropType<number> = {
  name: 'size',
  parse(raw, site) {
    if (raw === '-1') return E.right(-1);
    const r = parseQemuSize(raw);
    if ('error' in r) return E.left(valueBad(site, raw));
    if (r.ok === UINT32_MAX) return E.right(-1);
    if (r.ok > UINT32_MAX) {
      return E.left({ _tag: 'PropertyValueOutOfRange', loc: site.loc, type: site.type, prop: site.prop, value: r.ok, min: 0, max: UINT32_MAX });
    }
    return E.right(r.ok);
  },
  format: (n) => String(n),
};

/** `num-queues`: a uint16, or `auto` (the device table's spelling of QEMU's VIRTIO_BLK_AUTO_NUM_QUEUES default). */
export const queuesProp: PropType<number | 'auto'> = {
  name: 'uint16',
  parse: (raw, site) => (raw === 'auto' ? E.right('auto') : uint16Prop.parse(raw, site)),
  format: (v) => String(v),
};

/**
 * A PCI slot, written as QEMU writes `addr`: hexadecimal slot and optional function,
 * `05.0`, `0x5`, `5`. iopath places single-function devices only, so the function is 0.
 */
export const pciAddrProp: PropType<number> = {
  name: 'int32',
  parse(raw, site) {
    const m = /^(?:0[xX])?([0-9a-fA-F]+)(?:\.(?:0[xX])?([0-9a-fA-F]+))?$/.exec(raw);
    if (!m) return E.left(valueBad(site, raw));
    const slot = parseInt(m[1], 16);
    const fn = m[2] === undefined ? 0 : parseInt(m[2], 16);
    if (slot > 31 || fn > 7) return E.left(valueBad(site, raw));
    if (fn !== 0) return E.left({ _tag: 'NotModelled', loc: site.loc, what: `PCI function ${fn} (multifunction devices)` });
    return E.right(slot);
  },
  format: (slot) => `${slot.toString(16).padStart(2, '0')}.0`,
};

/**
 * `disable-legacy`, an OnOffAuto in QEMU. iopath models modern virtio-pci only, so `auto`
 * (QEMU's default, which means on for PCIe slots) is on; `off` (a transitional device)
 * is accepted and recorded, and changes nothing: a modern driver uses the modern
 * interface of a transitional device.
 */
export const disableLegacyProp: PropType<boolean> = {
  name: 'OnOffAuto',
  parse(raw, site) {
    if (raw === 'on' || raw === 'auto') return E.right(true);
    if (raw === 'off') return E.right(false);
    return E.left({ _tag: 'ParameterExpects', loc: site.loc, param: site.prop, expects: "'on', 'off' or 'auto'" });
  },
  format: formatBool,
};

/** `rerror` / `werror` (DEFINE_BLOCK_ERROR_PROPERTIES): a BlockdevOnError, `auto` keeping the drive's. */
export const onErrorProp: PropType<OnError> = {
  name: 'BlockdevOnError',
  parse(raw, site) {
    return isOnError(raw) ? E.right(raw) : E.left({ _tag: 'ParameterExpects', loc: site.loc, param: site.prop, expects: "'report', 'ignore', 'stop', 'enospc' or 'auto'" });
  },
  format: (v) => v,
};

/** The value each device-model property type holds. */
interface ModelPropValues {
  bool: boolean;
  uint16: number;
  uint32: number;
  size32: number;
  blocksize: number;
  string: string;
  queues: number | 'auto';
  onerror: OnError;
}

/**
 * The codec for each type a device model declares its properties with (a registry: a
 * model's new type fails to compile here until it has a codec).
 */
export const MODEL_PROP_CODECS: { readonly [K in VirtioBlkPropType]: PropType<ModelPropValues[K]> } = {
  bool: boolProp,
  uint16: uint16Prop,
  uint32: uintProp(32),
  size32: size32Prop,
  blocksize: blockSizeProp,
  string: strProp,
  queues: queuesProp,
  onerror: onErrorProp,
};

/**
 * A drive reference (DEFINE_PROP_DRIVE): the drive must exist, and a `-drive` (a named
 * BlockBackend) must be free; a `-blockdev` node may have several users.
 */
export const driveProp: PropType<string> = {
  name: 'str',
  parse(raw, site) {
    const d = site.env.drive(raw);
    if (!d) return E.left({ _tag: 'DriveNotFound', loc: site.loc, type: site.type, value: raw });
    if (d.inUse && !d.node) return E.left({ _tag: 'DriveInUse', loc: site.loc, drive: raw, automatic: d.automatic });
    return E.right(raw);
  },
  format: (s) => s,
};

/** `share-rw`'s help, for every disk that has it. */
export const SHARE_RW_HELP = 'let other devices write the block node too (each device on a node needs it)';

/** An iothread link (DEFINE_PROP_LINK to TYPE_IOTHREAD). */
export const iothreadProp: PropType<string> = {
  name: 'link<iothread>',
  parse(raw, site) {
    return site.env.hasIothread(raw) ? E.right(raw) : E.left({ _tag: 'IothreadNotFound', loc: site.loc, id: raw });
  },
  format: (s) => s,
};

function valueBad(site: PropSite, raw: string): CmdlineError {
  return { _tag: 'PropertyValueBad', loc: site.loc, type: site.type, prop: site.prop, value: raw };
}
