import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

describe('Redis (Debian redis-server unless REDIS_URL is set)', () => {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  afterAll(async () => {
    await connection.quit();
  });

  it('round-trips a BullMQ job through a queue and a worker', async () => {
    const name = `smoke-${Date.now()}`;
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection: connection.duplicate() });
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: connection.duplicate({ maxRetriesPerRequest: null }),
    });
    try {
      await events.waitUntilReady();
      const job = await queue.add('double', { n: 21 });
      const result = await job.waitUntilFinished(events, 10_000);
      expect(result).toEqual({ doubled: 42 });
      expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
