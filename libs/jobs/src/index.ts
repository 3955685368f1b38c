export { DEFAULT_QUEUE_PREFIX, QueueName } from './queues.js';
export {
  defineJob,
  type JobDefinition,
  type JobSpec,
  type Envelope,
  type BulkEntry,
  type JobTarget,
  type QueueSource,
  type EnqueueInput,
  type EnqueueOptions,
  type EnqueueResult,
} from './define.js';
export {
  defaultGroupJob,
  accountLinkedJob,
  auditFanoutJob,
  auditDeliveryJob,
  jobDefinitions,
  JobName,
  jobIds,
  defaultJobOptions,
  WEBHOOK_BACKOFF,
  defaultGroupPayloadSchema,
  accountLinkedPayloadSchema,
  auditFanoutPayloadSchema,
  auditDeliveryPayloadSchema,
  type DefaultGroupPayload,
  type AccountLinkedPayload,
  type AuditFanoutPayload,
  type AuditDeliveryPayload,
  type AuditDeliverySettings,
  type AuditDeliveryExtra,
} from './definitions.js';
export {
  JobProducer,
  type JobProducerOptions,
  type ProducerJob,
  type ProducerQueueName,
} from './producer.js';
export {
  traceCarrierSchema,
  currentTraceCarrier,
  traceCarrierForTraceId,
  traceCarrierOf,
  contextFromTraceCarrier,
  traceIdOf,
  type TraceCarrier,
} from './trace-context.js';
