export { DEFAULT_QUEUE_PREFIX, QueueName, JobName } from './queues.js';
export {
  defaultGroupPayloadSchema,
  accountLinkedPayloadSchema,
  auditFanoutPayloadSchema,
  auditDeliveryPayloadSchema,
  type DefaultGroupPayload,
  type AccountLinkedPayload,
  type AuditFanoutPayload,
  type AuditDeliveryPayload,
} from './payloads.js';
export { jobIds } from './job-ids.js';
export { defaultJobOptions } from './job-options.js';
export {
  enqueueDefaultGroup,
  enqueueAccountLinked,
  enqueueAuditFanout,
  type EnqueueInput,
  type EnqueueOptions,
  type EnqueueResult,
} from './enqueue.js';
export { JobProducer, type JobProducerOptions } from './producer.js';
export {
  traceCarrierSchema,
  currentTraceCarrier,
  traceCarrierForTraceId,
  contextFromTraceCarrier,
  traceIdOf,
  type TraceCarrier,
} from './trace-context.js';
