/**
 * Job ids are the idempotency keys: BullMQ ignores an add whose id already exists, so the api, the relay and
 * a re-run fan-out can all enqueue the same event safely. BullMQ 6 rejects ids containing ':', hence '-'.
 */
export const jobIds = {
  defaultGroup: (eventId: string) => `default-group-${eventId}`,
  accountLinked: (eventId: string) => `account-linked-${eventId}`,
  auditFanout: (eventId: string) => `audit-${eventId}`,
  /** `redrive` (an operator's re-drive counter or timestamp) gives a dead-lettered delivery a fresh id. */
  auditDelivery: (eventId: string, sink: string, redrive?: number) =>
    `deliver-${eventId}-${encodeURIComponent(sink)}${redrive === undefined ? '' : `-redrive-${redrive}`}`,
};
