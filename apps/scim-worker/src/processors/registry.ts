import type { JobDefinition, QueueName } from '@scimbridge/jobs';
import { UnrecoverableError, type Job } from 'bullmq';
import type { JobOutcome } from './outcome.js';

/**
 * Runs one job: gets the payload as its definition validated it, and the BullMQ job and lock token for the
 * few processors that need them (a job's timestamp, attempts, or deferring itself).
 */
export type JobProcessor<P> = (
  payload: P,
  job: Job<unknown>,
  token: string | undefined,
) => Promise<JobOutcome>;

/** A definition and its processor, as the worker registers them on the definition's queue. */
export interface Registration<Q extends QueueName = QueueName> {
  readonly name: string;
  readonly queue: Q;
  run(job: Job<unknown>, token: string | undefined): Promise<JobOutcome>;
}

/** Pairs a definition with its processor; the payload reaches the processor through `definition.parse`. */
export function register<Q extends QueueName, P>(pair: {
  definition: Pick<JobDefinition<string, Q>, 'name' | 'queue'> & { parse(job: Job<unknown>): P };
  processor: JobProcessor<P>;
}): Registration<Q> {
  const { definition, processor } = pair;
  return {
    name: definition.name,
    queue: definition.queue,
    run: (job, token) => processor(definition.parse(job), job, token),
  };
}

/**
 * The BullMQ processor of one queue: dispatches on the job's name to its registration. A name nobody
 * registered fails at once and for good (no retry can make a processor appear).
 */
export function dispatcher(
  queue: QueueName,
  registrations: readonly Registration[],
): (job: Job<unknown>, token: string | undefined) => Promise<JobOutcome> {
  const byName = new Map<string, Registration>();
  for (const registration of registrations) {
    if (registration.queue !== queue) {
      throw new Error(`${registration.name} jobs go on queue "${registration.queue}", not "${queue}"`);
    }
    if (byName.has(registration.name)) throw new Error(`${registration.name} is registered twice`);
    byName.set(registration.name, registration);
  }
  return async (job, token) => {
    const registration = byName.get(job.name);
    if (!registration) throw new UnrecoverableError(`unknown job ${job.name}`);
    return registration.run(job, token);
  };
}
