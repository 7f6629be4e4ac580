import { describe, expect, it } from 'vitest';
import { DID_NEXUS_FAILURE, DID_TRANSPORT_DISRUPTED, DID_TRANSPORT_MARGINAL, hostByteName, SAM_STAT_CHECK_CONDITION, SAM_STAT_TASK_ABORTED, SAM_STAT_TASK_SET_FULL, samStatusName } from './status.js';

describe('SCSI status and host bytes', () => {
  it('have SAM’s and Linux’s values and names', () => {
    expect([SAM_STAT_CHECK_CONDITION, SAM_STAT_TASK_SET_FULL, SAM_STAT_TASK_ABORTED]).toEqual([0x02, 0x28, 0x40]);
    expect(samStatusName(0x18)).toBe('RESERVATION CONFLICT');
    expect(samStatusName(0x30)).toBe('ACA ACTIVE');
    expect(samStatusName(0x03)).toBe('status(0x03)');
    expect([DID_TRANSPORT_DISRUPTED, DID_NEXUS_FAILURE, DID_TRANSPORT_MARGINAL]).toEqual([0x0e, 0x11, 0x14]);
    expect(hostByteName(DID_TRANSPORT_DISRUPTED)).toBe('DID_TRANSPORT_DISRUPTED');
    expect(hostByteName(0x42)).toBe('host_byte(0x42)');
  });
});
