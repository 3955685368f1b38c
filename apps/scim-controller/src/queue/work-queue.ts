import type { RateLimiter } from './rate-limiter.js';

/** What a handler asks for after a successful run: nothing, or to run again after a delay. */
export interface HandlerResult {
  requeueAfterMs?: number;
}

export interface WorkQueueHooks {
  onAdd?(): void;
  onDepth?(depth: number): void;
  /** Time from add to the start of processing. */
  onQueueLatency?(seconds: number): void;
  onWorkDuration?(seconds: number): void;
  onRetry?(): void;
  onActiveWorkers?(active: number): void;
}

export interface WorkQueueOptions {
  rateLimiter: RateLimiter;
  /** Keys processed at once; one key is never processed twice at once whatever this is. */
  workers: number;
  handler(key: string): Promise<HandlerResult>;
  /** A handler failure; the key is retried with backoff. */
  onError(key: string, error: unknown): void;
  hooks?: WorkQueueHooks;
}

/**
 * A keyed work queue with client-go's semantics: a key queued several times is processed once (dirty set);
 * a key added while it is being processed is processed again afterwards, never concurrently; failures
 * are retried through the rate limiter; delayed adds keep the earliest deadline per key.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly processingSince = new Map<string, number>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly loops: Promise<void>[] = [];
  private active = 0;

  constructor(private readonly options: WorkQueueOptions) {}

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.workerLoop());
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.options.hooks?.onAdd?.();
    this.dirty.add(key);
    this.addedAt.set(key, performance.now());
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.changed();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.options.hooks?.onRetry?.();
    this.addAfter(key, this.options.rateLimiter.when(key));
  }

  forget(key: string): void {
    this.options.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.options.rateLimiter.numRequeues(key);
  }

  get length(): number {
    return this.queue.length;
  }

  /** Seconds the longest-running key has been in its handler (workqueue_longest_running_processor_seconds). */
  longestRunningSeconds(): number {
    const now = performance.now();
    let longest = 0;
    for (const since of this.processingSince.values()) longest = Math.max(longest, (now - since) / 1000);
    return longest;
  }

  /** Sum of seconds of work in progress (workqueue_unfinished_work_seconds). */
  unfinishedWorkSeconds(): number {
    const now = performance.now();
    let total = 0;
    for (const since of this.processingSince.values()) total += (now - since) / 1000;
    return total;
  }

  /** Stops taking keys and waits for the handlers in progress. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.changed();
    await Promise.all(this.loops);
  }

  private changed(): void {
    this.options.hooks?.onDepth?.(this.queue.length);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async next(): Promise<string | undefined> {
    while (!this.shuttingDown) {
      const key = this.queue.shift();
      if (key !== undefined) {
        this.options.hooks?.onDepth?.(this.queue.length);
        return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return undefined;
  }

  private async workerLoop(): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.dirty.delete(key);
      this.processing.add(key);
      const started = performance.now();
      this.processingSince.set(key, started);
      const added = this.addedAt.get(key);
      this.addedAt.delete(key);
      if (added !== undefined) this.options.hooks?.onQueueLatency?.((started - added) / 1000);
      this.options.hooks?.onActiveWorkers?.(++this.active);
      try {
        const result = await this.options.handler(key);
        this.forget(key);
        if (result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        this.options.onError(key, error);
        this.addRateLimited(key);
      } finally {
        this.options.hooks?.onActiveWorkers?.(--this.active);
        this.options.hooks?.onWorkDuration?.((performance.now() - started) / 1000);
        this.processingSince.delete(key);
        this.processing.delete(key);
        if (this.dirty.has(key)) {
          this.queue.push(key);
          this.changed();
        }
      }
    }
  }
}
