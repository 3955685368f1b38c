export { startScimWorker, type ScimWorker, type ScimWorkerOptions } from './worker.js';
export {
  workerConfigSchema,
  defaultWorkerSettings,
  type WorkerConfig,
  type WorkerSettings,
} from './config.js';
export {
  signWebhookBody,
  verifyWebhookSignature,
  SIGNATURE_HEADER,
  type VerifyOptions,
} from './audit/signature.js';
export type { PublishedAuditEvent } from './audit/event-body.js';
export { AuditRelay } from './relay.js';
