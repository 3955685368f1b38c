/** A job's return value, kept with the completed job in Redis so an operator can see why it did nothing. */
export interface JobOutcome {
  outcome: 'done' | 'skipped' | 'dead-lettered';
  reason?: string;
}

/** A failure worth retrying; `reason` labels the failure metric, `retryAfterMs` floors the next backoff. */
export class RetryableJobError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableJobError';
  }
}
