import type { JobsOptions, Queue } from 'bullmq';
import { jobIds } from './job-ids.js';
import { defaultJobOptions } from './job-options.js';
import {
  accountLinkedPayloadSchema,
  auditFanoutPayloadSchema,
  defaultGroupPayloadSchema,
  type AccountLinkedPayload,
  type AuditFanoutPayload,
  type DefaultGroupPayload,
} from './payloads.js';
import { JobName, QueueName } from './queues.js';
import { currentTraceCarrier, type TraceCarrier } from './trace-context.js';

/** Payload fields a caller supplies; `v` is added and `trace` defaults to the active context. */
export type EnqueueInput<P> = Omit<P, 'v' | 'trace'> & { trace?: TraceCarrier };

export interface EnqueueOptions {
  /** Give up waiting for Redis after this long (default 2000 ms); the relay catches what is missed. */
  timeoutMs?: number;
}

/** Never rejects for a Redis problem: the api's request must succeed while Redis is down. */
export type EnqueueResult = { ok: true; jobId: string } | { ok: false; jobId: string; error: Error };

/** `user.default-group` on `scim-provisioning`. Throws (a ZodError) only for an invalid payload. */
export function enqueueDefaultGroup(
  queue: Queue,
  input: EnqueueInput<DefaultGroupPayload>,
  options?: EnqueueOptions,
): Promise<EnqueueResult> {
  const data = defaultGroupPayloadSchema.parse(withEnvelope(input));
  return add(
    queue,
    QueueName.provisioning,
    JobName.defaultGroup,
    data,
    jobIds.defaultGroup(data.eventId),
    options,
  );
}

/** `account.linked` on `scim-provisioning`. */
export function enqueueAccountLinked(
  queue: Queue,
  input: EnqueueInput<AccountLinkedPayload>,
  options?: EnqueueOptions,
): Promise<EnqueueResult> {
  const data = accountLinkedPayloadSchema.parse(withEnvelope(input));
  return add(
    queue,
    QueueName.provisioning,
    JobName.accountLinked,
    data,
    jobIds.accountLinked(data.eventId),
    options,
  );
}

/** `audit.fanout` on `scim-audit`; call after the audit event is stored. */
export function enqueueAuditFanout(
  queue: Queue,
  input: EnqueueInput<AuditFanoutPayload>,
  options?: EnqueueOptions,
): Promise<EnqueueResult> {
  const data = auditFanoutPayloadSchema.parse(withEnvelope(input));
  return add(queue, QueueName.audit, JobName.auditFanout, data, jobIds.auditFanout(data.eventId), options);
}

function withEnvelope<P>(input: EnqueueInput<P>): Record<string, unknown> {
  return { ...input, v: 1, trace: input.trace ?? currentTraceCarrier() };
}

async function add(
  queue: Queue,
  expectedQueue: QueueName,
  name: string,
  data: object,
  jobId: string,
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  if (queue.name !== expectedQueue) {
    throw new Error(`${name} jobs go on queue "${expectedQueue}", not "${queue.name}"`);
  }
  const jobOptions: JobsOptions = { ...defaultJobOptions, jobId };
  const adding = queue.add(name, data, jobOptions);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`enqueue of ${jobId} timed out after ${options.timeoutMs ?? 2_000} ms`)),
      options.timeoutMs ?? 2_000,
    );
  });
  try {
    await Promise.race([adding, timeout]);
    return { ok: true, jobId };
  } catch (error) {
    // A timed-out add may still land once Redis answers; the job id makes that harmless.
    adding.catch(() => undefined);
    return { ok: false, jobId, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    clearTimeout(timer);
  }
}
