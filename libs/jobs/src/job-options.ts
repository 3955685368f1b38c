import type { JobsOptions } from 'bullmq';

/**
 * Retries for provisioning and fan-out jobs: a MongoDB blip must not lose a side effect. Completed jobs are
 * kept for a day so a late duplicate add (the relay) is de-duplicated by id instead of running again.
 */
export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
};
