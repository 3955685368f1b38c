import { BullMQOtel } from 'bullmq-otel';

/**
 * BullMQ telemetry for `new Queue(name, { telemetry: queueTelemetry() })` and the same on `Worker`: the job
 * carries the producer's trace context, so one trace runs from the IdP's request into the worker's job.
 */
export function queueTelemetry(): BullMQOtel {
  return new BullMQOtel({ tracerName: 'scimbridge' });
}
