/**
 * Per-key in-flight limit inside one replica, keyed by organisation and sink. Only the webhook request itself
 * holds a slot. A delivery that finds its sink's slots taken waits for one briefly — at most `limit` waiters per
 * sink, each for at most `waitMs` — and is otherwise deferred (moved back to delayed without using an attempt),
 * which frees its worker slot for other organisations' jobs. So a slow or hanging webhook holds at most `limit`
 * worker slots for its requests plus `limit` for at most `waitMs` at a time, while a busy but fast sink hands each
 * freed slot straight to the next waiting delivery instead of leaving it idle until a deferred job returns.
 */
export class SinkSlots {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, ((release: (() => void) | undefined) => void)[]>();

  constructor(
    private readonly limit: number,
    private readonly waitMs = 250,
  ) {}

  /** A release function when a slot was free or freed within the wait, else undefined (defer the job). */
  acquire(key: string): Promise<(() => void) | undefined> {
    const current = this.inFlight.get(key) ?? 0;
    if (current < this.limit) {
      this.inFlight.set(key, current + 1);
      return Promise.resolve(this.releaser(key));
    }
    const queue = this.waiting.get(key) ?? [];
    if (queue.length >= this.limit || this.waitMs === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (release: (() => void) | undefined) => {
        clearTimeout(timer);
        resolve(release);
      };
      const timer = setTimeout(() => {
        const left = (this.waiting.get(key) ?? []).filter((w) => w !== waiter);
        if (left.length) this.waiting.set(key, left);
        else this.waiting.delete(key);
        resolve(undefined);
      }, this.waitMs);
      queue.push(waiter);
      this.waiting.set(key, queue);
    });
  }

  active(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }

  private releaser(key: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.waiting.delete(key);
      // The slot passes to the next waiter as it is: the in-flight count stays.
      if (next) return next(this.releaser(key));
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }
}
