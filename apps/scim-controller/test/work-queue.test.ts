import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from '../src/queue/rate-limiter.js';
import { WorkQueue, type HandlerResult } from '../src/queue/work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate limiters (client-go semantics)', () => {
  it('backs off one key exponentially from 5 ms to 1000 s and forgets it on success', () => {
    const limiter = new ItemExponentialRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 20 }, () => limiter.when('a'));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(limiter.when('b')).toBe(5);
    expect(limiter.numRequeues('a')).toBe(20);
    limiter.forget('a');
    expect(limiter.when('a')).toBe(5);
  });

  it('lets a burst of 100 through, then spaces retries at 10 per second overall', () => {
    let now = 0;
    const bucket = new BucketRateLimiter(10, 100, () => now);
    const burst = Array.from({ length: 100 }, (_, i) => bucket.when(`k${i}`));
    expect(burst.every((d) => d === 0)).toBe(true);
    expect(bucket.when('x')).toBeCloseTo(100);
    expect(bucket.when('y')).toBeCloseTo(200);
    now += 1000; // refills 10 tokens, repaying the 2 borrowed
    expect(bucket.when('z')).toBe(0);
  });

  it('combines both as the maximum, like DefaultControllerRateLimiter', () => {
    const now = 0;
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialRateLimiter(5, 1_000_000),
      new BucketRateLimiter(10, 1, () => now),
    );
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('a')).toBeCloseTo(100);
    expect(defaultControllerRateLimiter().when('a')).toBe(5);
  });
});

function queueWith(handler: (key: string) => Promise<HandlerResult>, workers = 4) {
  const errors: string[] = [];
  const queue = new WorkQueue({
    rateLimiter: new ItemExponentialRateLimiter(5, 1_000),
    workers,
    handler,
    onError: (key) => errors.push(key),
  });
  queue.start();
  return { queue, errors };
}

describe('work queue', () => {
  it('processes a key added many times while queued once', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { queue } = queueWith(async (key) => {
      seen.push(key);
      if (key === 'block') await gate;
      return {};
    }, 1);
    queue.add('block');
    await sleep(5);
    for (let i = 0; i < 10; i++) queue.add('a');
    release();
    await sleep(20);
    expect(seen).toEqual(['block', 'a']);
    await queue.shutdown();
  });

  it('never runs one key twice at once, and reruns it once if it changed meanwhile', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const { queue } = queueWith(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20);
      running--;
      return {};
    }, 8);
    queue.add('k');
    await sleep(5);
    for (let i = 0; i < 20; i++) queue.add('k');
    await sleep(80);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    await queue.shutdown();
  });

  it('retries a failing key with growing delays and forgets it after a success', async () => {
    const at: number[] = [];
    const { queue, errors } = queueWith(async () => {
      at.push(performance.now());
      if (at.length < 5) throw new Error('not yet');
      return {};
    });
    queue.add('k');
    await expect.poll(() => at.length, { timeout: 2_000 }).toBe(5);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[3]!).toBeGreaterThan(gaps[0]!);
    expect(errors).toHaveLength(4);
    expect(queue.numRequeues('k')).toBe(0);
    await queue.shutdown();
  });

  it('requeues after the delay a handler asks for, keeping the earliest deadline', async () => {
    const at: number[] = [];
    const start = performance.now();
    const { queue } = queueWith(async () => {
      at.push(performance.now() - start);
      return at.length === 1 ? { requeueAfterMs: 50 } : {};
    });
    queue.add('k');
    await sleep(10);
    queue.addAfter('k', 10_000);
    await expect.poll(() => at.length, { timeout: 1_000 }).toBe(2);
    expect(at[1]!).toBeGreaterThanOrEqual(45);
    await queue.shutdown();
  });
});
