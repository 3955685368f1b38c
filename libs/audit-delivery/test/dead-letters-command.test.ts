import { randomBytes, randomUUID } from 'node:crypto';
import { QueueName } from '@scimbridge/jobs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  auditDeliveryCollections,
  runAuditDeadLettersCommand,
  type AuditDeliveryCollections,
} from '../src/index.js';

const uniqueName = (prefix: string) =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

const dbName = uniqueName('dead_letters');
const prefix = uniqueName('dlcmd');
let mongo: Connection;
let collections: AuditDeliveryCollections;

beforeAll(async () => {
  mongo = await mongoose
    .createConnection(inject('mongodbUri'), { dbName, serverSelectionTimeoutMS: 5_000 })
    .asPromise();
  collections = auditDeliveryCollections(mongo);
});

afterAll(async () => {
  await mongo.dropDatabase();
  await mongo.close();
});

async function run(...argv: string[]) {
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAuditDeadLettersCommand(
    argv,
    { MONGODB_URI: uri.toString(), REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix },
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

describe('audit dead-letters command', () => {
  it('lists dead letters and re-drives the selected ones onto the delivery queue', async () => {
    const orgId = uniqueName('org');
    const eventId = randomUUID();
    await collections.auditDeadLetters.insertOne({
      _id: `${eventId}:siem`,
      orgId,
      eventId,
      sink: 'siem',
      status: 'dead',
      reason: 'http_5xx',
      lastStatusCode: 503,
      lastError: 'receiver answered 503',
      attempts: 12,
      deadLetteredAt: new Date(),
      redriveCount: 0,
      redrivenAt: null,
      resolvedAt: null,
    });

    const list = await run('list', '--org', orgId);
    expect(list.code).toBe(0);
    expect(list.out[0]).toMatch(/^ID\tORG\tSINK\tSTATUS/);
    expect(list.out[1]).toContain(`${eventId}:siem\t${orgId}\tsiem\tdead\thttp_5xx\t12`);
    expect((await run('list', '--org', orgId, '--json')).out.map((l) => JSON.parse(l)._id)).toEqual([
      `${eventId}:siem`,
    ]);

    expect((await run('redrive')).code).toBe(64);
    const redrive = await run('redrive', '--org', orgId);
    expect(redrive.code).toBe(0);
    expect(redrive.out.at(-1)).toBe('1 dead letter(s) re-driven');
    expect(await collections.auditDeadLetters.findOne({ _id: `${eventId}:siem` })).toMatchObject({
      status: 'redriving',
      redriveCount: 1,
    });
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    const queue = new Queue(QueueName.auditDelivery, { connection: redis, prefix });
    try {
      const [job] = await queue.getJobs(['waiting']);
      expect(job?.id).toBe(`deliver-${eventId}-siem-redrive-1`);
      expect(job?.data).toMatchObject({ eventId, orgId, sink: 'siem', sinks: ['siem'] });
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      redis.disconnect();
    }
    expect((await run('list', '--org', orgId)).out).toHaveLength(1);
  });

  it('explains its usage and rejects bad options', async () => {
    expect((await run('--help')).code).toBe(0);
    expect((await run('purge')).code).toBe(64);
    expect((await run('list', '--status', 'nope')).code).toBe(64);
  });
});
