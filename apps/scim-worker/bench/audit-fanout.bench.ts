/**
 * Load benchmark: N audit events (default 10 000) through one webhook sink, end to end.
 *
 * For each event it does what the api does (store the audit event in MongoDB, enqueue `audit.fanout`), with
 * BENCH_WRITERS (default 8) writers in parallel; the worker (in this process, default settings unless overridden by the
 * worker's environment variables) fans it out and POSTs it to a local HTTP receiver. Latency is receiver
 * arrival minus the event's `occurredAt`; throughput is events over first write → last arrival. Unpaced, the
 * writers outrun the worker and the latency figures measure the backlog; BENCH_RATE (events/s) paces them to
 * measure latency below saturation.
 *
 *   pnpm --filter @scimbridge/scim-worker bench           # starts FerretDB and Redis itself
 *   MONGODB_URI=... REDIS_URL=... BENCH_EVENTS=2000 pnpm --filter @scimbridge/scim-worker bench
 *   BENCH_RATE=150 pnpm --filter @scimbridge/scim-worker bench
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { JobProducer } from '@scimbridge/jobs';
import { createLogger } from '@scimbridge/logger';
import { applyOrganisation } from '@scimbridge/tenancy';
import { startFerretDB, startRedis } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { Registry } from 'prom-client';
import { workerEnv } from '../src/config.js';
import { startScimWorker } from '../src/index.js';
import { workerCollections } from '../src/store/collections.js';

const total = Number(process.env.BENCH_EVENTS ?? 10_000);
const writers = Number(process.env.BENCH_WRITERS ?? 8);
const rate = Number(process.env.BENCH_RATE ?? 0);

const stops: (() => Promise<unknown>)[] = [];
const mongoUri = process.env.MONGODB_URI ?? (await started(startFerretDB(), (s) => s.uri));
const redisUrl = process.env.REDIS_URL ?? (await started(startRedis('redis-bench'), (s) => s.url));

const arrivals = new Map<string, number>();
let duplicates = 0;
let retriedWrites = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = String(req.headers['x-scimbridge-event-id']);
    if (arrivals.has(id)) duplicates++;
    else arrivals.set(id, Date.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/audit`;

const prefix = `bench-${Date.now().toString(36)}`;
const connection = await mongoose.createConnection(mongoUri, { dbName: prefix }).asPromise();
const collections = workerCollections(connection);
const orgId = 'org-bench';
await applyOrganisation(connection, orgId, {
  displayName: 'Benchmark',
  audit: { webhooks: [{ name: 'bench', url, secret: 'bench-secret' }] },
});

// The receiver is plain http on loopback, which the default egress policy refuses.
const settings = workerEnv.parse({
  AUDIT_WEBHOOK_ALLOW_HTTP: 'true',
  AUDIT_WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
  ...process.env,
  QUEUE_PREFIX: prefix,
  RELAY_INTERVAL_MS: '600000',
});
const workerRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const worker = await startScimWorker({
  mongo: connection,
  redis: workerRedis,
  settings,
  logger: createLogger({ service: 'scim-worker-bench', level: 'warn' }),
  registry: new Registry(),
  // The JSON-lines stream is produced but not printed: the figures are the webhook's.
  auditDestination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});
const producerRedis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const producer = new JobProducer({ connection: producerRedis, prefix });

const occurred = new Map<string, number>();
const startedAt = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: writers }, async () => {
    while (next < total) {
      next++;
      if (rate > 0) {
        const due = startedAt + (next / rate) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const id = uuidv7();
      const at = Date.now();
      occurred.set(id, at);
      await withRetry(() =>
        collections.auditEvents.insertOne({
          _id: id,
          orgId,
          action: 'user.updated',
          actor: { type: 'token', id: 'tok-bench' },
          resourceType: 'User',
          resourceId: uuidv7(),
          changedAttributes: ['name.givenName'],
          requestId: `req-${next}`,
          traceId: randomBytes(16).toString('hex'),
          occurredAt: new Date(at),
          dispatchedAt: null,
        }),
      );
      const result = await producer.auditFanout({ orgId, eventId: id });
      if (!result.ok) throw result.error;
    }
  }),
);
const writtenAt = Date.now();
while (arrivals.size < total) {
  if (Date.now() - writtenAt > 600_000) throw new Error(`only ${arrivals.size}/${total} events arrived`);
  await new Promise((r) => setTimeout(r, 50));
}
const lastArrival = Math.max(...arrivals.values());
while ((await collections.auditEvents.countDocuments({ dispatchedAt: null })) > 0) {
  await new Promise((r) => setTimeout(r, 200));
}
const dispatchedAt = Date.now();

const latencies = [...arrivals.entries()].map(([id, at]) => at - occurred.get(id)!).sort((a, b) => a - b);
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
const seconds = (lastArrival - startedAt) / 1000;
const report = {
  events: total,
  writers,
  paced: rate > 0 ? `${rate}/s` : 'no',
  deliveryConcurrency: settings.AUDIT_DELIVERY_CONCURRENCY,
  sinkConcurrency: settings.AUDIT_SINK_CONCURRENCY,
  writeSeconds: (writtenAt - startedAt) / 1000,
  endToEndSeconds: seconds,
  eventsPerSecond: Math.round(total / seconds),
  latencyMs: { p50: quantile(0.5), p99: quantile(0.99), max: latencies.at(-1) },
  allDispatchedSeconds: (dispatchedAt - startedAt) / 1000,
  duplicateDeliveries: duplicates,
  retriedWrites,
};
console.log(JSON.stringify(report, null, 2));

await worker.close();
await producer.close();
producerRedis.disconnect();
workerRedis.disconnect();
await connection.dropDatabase();
await connection.close();
receiver.close();
for (const stop of stops.reverse()) await stop();

async function started<S extends { stop(): Promise<void> }>(server: Promise<S>, value: (s: S) => string) {
  const s = await server;
  stops.push(() => s.stop());
  return value(s);
}

// FerretDB's SQLite backend answers "database is locked" under write contention; an IdP would retry the request.
async function withRetry<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 10 || !/database is locked/.test(String(error))) throw error;
      retriedWrites++;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

function uuidv7(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = `${hex.slice(0, 12)}7${hex.slice(13, 16)}${variant}${hex.slice(17, 32)}`;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
