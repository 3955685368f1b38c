// Public API of @scimbridge/audit-delivery: what the worker's webhook delivery and the operator's dead-letter
// commands share, so scimctl reaches dead letters without depending on the worker (docs/worker.md "Dead letters").
export { deliveryKey, type AuditDeliveryDocument, type AuditDeadLetterDocument } from './documents.js';
export {
  auditDeliveryCollections,
  deadLetterCollections,
  ensureAuditDeliveryIndexes,
  AUDIT_DELIVERY_INDEXES,
  type AuditDeliveryCollections,
  type DeadLetterCollections,
} from './collections.js';
export { auditDeliveryEnv, type AuditDeliverySettings } from './settings.js';
export { webhookBackoff } from './delivery-options.js';
export { listDeadLetters, redriveDeadLetters, type DeadLetterFilter } from './dead-letters.js';
export { runAuditDeadLettersCommand, AUDIT_DEAD_LETTERS_USAGE } from './dead-letters-command.js';
export {
  driftReport,
  driftFindings,
  DRIFT_DEFAULTS,
  type DriftFindings,
  type DriftKind,
  type DriftOptions,
  type DriftReport,
} from './drift.js';
export { openDriftQueues, repairDrift, type DriftRepair, type DriftRepairOptions } from './drift-repair.js';
export { EVENT_STREAM_SINK_PREFIX, SCIM_EVENT, scimEventsOf } from './scim-events.js';
