import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { tenancyCollections, type PendingBroadcastDocument } from './collections.js';

/** A publish that Redis has not confirmed by then counts as failed (it stays pending and is retried). */
const PUBLISH_TIMEOUT_MS = 1_000;

async function publish(redis: Redis, channel: string, text: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PUBLISH_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([redis.publish(channel, text).then(() => true), timedOut]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The broadcast outbox: a message is recorded in MongoDB (`recordBroadcast`) before the change it announces is
 * made, and removed once Redis took it (`deliverBroadcast`), so a message whose publish failed (Redis down, or
 * unreachable from this process) is re-published by `republishPendingBroadcasts` until it was. A message
 * published twice is harmless: receivers only drop cache entries.
 */
export async function recordBroadcast(
  connection: Connection,
  orgId: string,
  channel: string,
  message: object,
): Promise<PendingBroadcastDocument> {
  const doc: PendingBroadcastDocument = {
    _id: randomUUID(),
    orgId,
    channel,
    message: JSON.stringify(message),
    createdAt: new Date(),
  };
  await tenancyCollections(connection).pendingBroadcasts.insertOne(doc);
  return doc;
}

/** Publishes a recorded message; true once Redis took it (then the record is removed). Never throws for Redis. */
export async function deliverBroadcast(
  connection: Connection,
  redis: Redis,
  doc: PendingBroadcastDocument,
): Promise<boolean> {
  if (!(await publish(redis, doc.channel, doc.message))) return false;
  await tenancyCollections(connection).pendingBroadcasts.deleteOne({ _id: doc._id });
  return true;
}

/**
 * Publishes what is still pending, oldest first, stopping at the first failure; returns how many went out.
 * Records younger than `minAgeMs` are left to their writer, which may not have made its change yet.
 */
export async function republishPendingBroadcasts(
  connection: Connection,
  redis: Redis,
  options: { limit?: number; minAgeMs?: number } = {},
): Promise<number> {
  const before = new Date(Date.now() - (options.minAgeMs ?? 2_000));
  const pending = await tenancyCollections(connection)
    .pendingBroadcasts.find({ createdAt: { $lt: before } })
    .sort({ createdAt: 1 })
    .limit(options.limit ?? 100)
    .toArray();
  let published = 0;
  for (const doc of pending) {
    if (!(await deliverBroadcast(connection, redis, doc))) break;
    published += 1;
  }
  return published;
}

/**
 * Runs `republishPendingBroadcasts` every `intervalMs` while Redis is connected (an api replica runs one): a
 * replica whose subscription stayed up trusts its cache for the full TTL, so a revocation published late must
 * still reach it soon. Failures are retried on the next tick.
 */
export class PendingBroadcastRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly redis: Redis,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.redis.status !== 'ready') return;
      this.running = republishPendingBroadcasts(this.connection, this.redis).catch(() => 0);
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
