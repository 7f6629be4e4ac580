/** blkdebug: QEMU's fault-injection filter. Importing this module registers the driver. */
export { blkdebugDriver, blkdebugEngine, CONFIG_MAX_BYTES, type BlkdebugState } from './blkdebug.js';
export { BlkdebugEngine } from './engine.js';
export { parseBlkdebugConfig, CONFIG_GROUPS, type ConfigSection } from './config-file.js';
export { buildRules, BLKDEBUG_IO_TYPES, ERRNO_NUMBERS, type BlkdebugIoType, type BlkdebugRule, type InjectErrorRule, type SetStateRule } from './rules.js';
