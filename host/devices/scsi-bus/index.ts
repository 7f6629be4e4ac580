/**
 * The SCSI bus below an HBA (QEMU hw/scsi/scsi-bus.c): devices by channel/target/LUN,
 * request objects, unit attentions, and what the bus answers for absent LUNs.
 */
export { ScsiBus, type ScsiBusError, type ScsiBusInfo } from './bus.js';
export { parseCdb, cdbXfer, cdbLba, dataCdbXfer, type ScsiCommand, type ScsiXferMode, type CdbDevice } from './cdb.js';
export { dataSize, dataRead, dataWrite, type ScsiData } from './data.js';
export { ScsiDeviceCommon, uaPrecedence, type ScsiDevice } from './device.js';
export { ScsiRequest, type ScsiReqHandler, type ScsiReqKind, type ScsiRequestInit } from './request.js';
export { QEMU_HW_VERSION } from './target.js';
export * from './defs.js';
