/**
 * Per-key in-flight limit inside one replica, keyed by organisation and sink. A delivery that finds its sink's
 * slots full is deferred (moved back to delayed without using an attempt), which frees the worker slot for
 * another organisation's jobs: a slow webhook holds at most `limit` slots per replica.
 */
export class SinkSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** A release function when a slot was free, else undefined. */
  tryAcquire(key: string): (() => void) | undefined {
    const current = this.inFlight.get(key) ?? 0;
    if (current >= this.limit) return undefined;
    this.inFlight.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  active(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }
}
