/** One document per event and sink that received it; `_id` makes a second insert a no-op. */
export interface AuditDeliveryDocument {
  _id: string;
  orgId: string;
  eventId: string;
  sink: string;
  /** `skipped`: the sink was removed from the settings before the event reached it. */
  outcome: 'delivered' | 'skipped';
  attempts: number;
  at: Date;
}

/** A delivery that used up its retry budget; listed and re-driven by operators. */
export interface AuditDeadLetterDocument {
  _id: string;
  orgId: string;
  eventId: string;
  sink: string;
  status: 'dead' | 'redriving' | 'redelivered';
  reason: string;
  lastStatusCode: number | null;
  lastError: string;
  attempts: number;
  deadLetteredAt: Date;
  redriveCount: number;
  redrivenAt: Date | null;
  resolvedAt: Date | null;
}

/** `${eventId}:${sink}`: the key of both delivery records and dead letters. */
export function deliveryKey(eventId: string, sink: string): string {
  return `${eventId}:${sink}`;
}
