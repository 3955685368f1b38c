import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { z } from 'zod';
import type { QueueName } from './queues.js';
import { currentTraceCarrier, type TraceCarrier } from './trace-context.js';

/** What every payload carries besides its own fields: the contract version and the W3C trace context. */
export interface Envelope {
  v: 1;
  trace: TraceCarrier;
}

/** Payload fields a caller supplies; `v` is added and `trace` defaults to the active context. */
export type EnqueueInput<P> = Omit<P, 'v' | 'trace'> & { trace?: TraceCarrier };

export interface EnqueueOptions {
  /** Give up waiting for Redis after this long (default 2000 ms); the relay catches what is missed. */
  timeoutMs?: number;
}

/** Never rejects for a Redis problem: the api's request must succeed while Redis is down. */
export type EnqueueResult = { ok: true; jobId: string } | { ok: false; jobId: string; error: Error };

/** One element of `Queue.addBulk`. */
export interface BulkEntry<N extends string, P> {
  name: N;
  data: P;
  opts: JobsOptions & { jobId: string };
}

/** Something that holds the queues by name (`JobProducer`), so a caller need not pick the right one. */
export interface QueueSource {
  queueFor(name: QueueName): Queue;
}

/** Where `enqueue` adds a job: the queue itself (checked against the definition's) or a `QueueSource`. */
export type JobTarget = Queue | QueueSource;

/**
 * Arguments that are optional when every field of `X` is (the jobs whose id and options need nothing but the
 * payload) and required otherwise (`audit.deliver` needs the worker's settings).
 */
type ExtraArgs<X, O = unknown> = Partial<X> extends X ? [extra?: O & X] : [extra: O & X];

/** Everything a job is, stated once. */
export interface JobSpec<N extends string, Q extends QueueName, S extends z.ZodType<Envelope>, K, X> {
  /** BullMQ job name; the worker dispatches on it. */
  name: N;
  queue: Q;
  /** The versioned payload (with the envelope fields). */
  schema: S;
  /**
   * The idempotency key: BullMQ ignores an add whose id already exists, so the api, the relay and a re-run
   * fan-out can all enqueue the same event safely. Called with the payload and the extras (`X`); BullMQ 6
   * rejects ids containing ':', hence '-'.
   */
  jobId: (key: K) => string;
  /** Retries and retention; a function when they depend on what the enqueuer passes (`X`, e.g. settings). */
  options: JobsOptions | ((extra: X) => JobsOptions);
}

export interface JobDefinition<
  N extends string = string,
  Q extends QueueName = QueueName,
  S extends z.ZodType<Envelope> = z.ZodType<Envelope>,
  K = z.output<S>,
  X = object,
> {
  readonly name: N;
  readonly queue: Q;
  readonly schema: S;
  jobId(key: K): string;
  options(...extra: ExtraArgs<X>): JobsOptions;
  /** The validated payload: `v: 1` added, `trace` defaulting to the active context. Throws a ZodError. */
  payload(input: EnqueueInput<z.output<S>>): z.output<S>;
  /** An element for `Queue.addBulk`: validated payload, job id and options. Throws a ZodError. */
  bulkEntry(input: EnqueueInput<z.output<S>>, ...extra: ExtraArgs<X>): BulkEntry<N, z.output<S>>;
  /**
   * Adds the job. Throws (a ZodError) at once for an invalid payload and rejects for the wrong queue, both
   * programming errors; a Redis problem or the timeout resolves `{ ok: false }` instead.
   */
  enqueue(
    target: JobTarget,
    input: EnqueueInput<z.output<S>>,
    ...options: ExtraArgs<X, EnqueueOptions>
  ): Promise<EnqueueResult>;
  /** A job's validated payload; an invalid one (or a job of another name) is a BullMQ `UnrecoverableError`. */
  parse(job: Pick<Job, 'name' | 'data'>): z.output<S>;
}

/**
 * Defines a job from its name, queue, payload schema, job id and options. `K` is what the job id reads (declare
 * it on `jobId`'s parameter: `({ eventId }: { eventId: string }) => …`); it must be part of the payload and
 * extras, which the trailing check enforces. `X` is what the enqueuer passes beyond the payload (declare it on
 * `options`' parameter), e.g. the settings the options derive from.
 */
export function defineJob<
  N extends string,
  Q extends QueueName,
  S extends z.ZodType<Envelope>,
  K,
  X extends object = object,
>(
  spec: JobSpec<N, Q, S, K, X>,
  ..._keyIsPartOfPayload: z.output<S> & X extends K ? [] : [never]
): JobDefinition<N, Q, S, K, X> {
  type P = z.output<S>;
  // The trailing check proves every payload-with-extras is a K; TypeScript cannot see that inside the body.
  const jobIdOf = spec.jobId as (key: P & X) => string;
  const optionsOf = (extra: X | undefined): JobsOptions =>
    typeof spec.options === 'function' ? spec.options(extra ?? ({} as X)) : spec.options;
  const payload = (input: EnqueueInput<P>): P =>
    spec.schema.parse({ ...input, v: 1, trace: input.trace ?? currentTraceCarrier() });
  const bulkEntry = (input: EnqueueInput<P>, extra?: X): BulkEntry<N, P> => {
    const data = payload(input);
    return {
      name: spec.name,
      data,
      opts: { ...optionsOf(extra), jobId: jobIdOf({ ...extra, ...data } as P & X) },
    };
  };
  return {
    name: spec.name,
    queue: spec.queue,
    schema: spec.schema,
    jobId: spec.jobId,
    options: (...[extra]) => optionsOf(extra),
    payload,
    bulkEntry: (input, ...[extra]) => bulkEntry(input, extra),
    enqueue(target, input, ...[options]) {
      // Built (and validated) before anything async, so an invalid payload throws synchronously.
      const entry = bulkEntry(input, options);
      return add(target, spec.queue, entry, options?.timeoutMs);
    },
    parse(job) {
      if (job.name !== spec.name) throw new UnrecoverableError(`${job.name} is not a ${spec.name} job`);
      const result = spec.schema.safeParse(job.data);
      if (!result.success)
        throw new UnrecoverableError(`invalid ${job.name} payload: ${result.error.message}`);
      return result.data;
    },
  };
}

async function add(
  target: JobTarget,
  expectedQueue: QueueName,
  entry: BulkEntry<string, unknown>,
  timeoutMs = 2_000,
): Promise<EnqueueResult> {
  const queue = 'queueFor' in target ? target.queueFor(expectedQueue) : target;
  if (queue.name !== expectedQueue) {
    throw new Error(`${entry.name} jobs go on queue "${expectedQueue}", not "${queue.name}"`);
  }
  const { jobId } = entry.opts;
  const adding = queue.add(entry.name, entry.data, entry.opts);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`enqueue of ${jobId} timed out after ${timeoutMs} ms`)),
      timeoutMs,
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
