import { createLogger } from '@scimbridge/logger';
import { requestLogEntry } from '@scimbridge/tenancy';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditRetention } from '../src/retention.js';
import type { WorkerCollections } from '../src/store/collections.js';
import { connectMongo, storeAuditEvent, uniqueName, workerCollections } from './support.js';

const dbName = uniqueName('worker_retention');
let mongo: Connection;
let collections: WorkerCollections;
const DAY = 86_400_000;

beforeAll(async () => {
  mongo = await connectMongo(inject('mongodbUri'), dbName);
  collections = workerCollections(mongo);
});

afterAll(async () => {
  await mongo.dropDatabase();
  await mongo.close();
});

describe('audit retention', () => {
  it('trims dispatched events, deliveries and dead letters past the period in batches, and keeps the rest', async () => {
    const orgId = uniqueName('org');
    const now = Date.now();
    const old = new Date(now - 401 * DAY);
    const recent = new Date(now - 399 * DAY);
    const expired = [];
    for (let i = 0; i < 7; i++)
      expired.push(await storeAuditEvent(collections, orgId, { occurredAt: old, dispatchedAt: old }));
    const kept = [
      await storeAuditEvent(collections, orgId, { occurredAt: recent, dispatchedAt: recent }),
      // Never dispatched: still the relay's, however old.
      await storeAuditEvent(collections, orgId, { occurredAt: old, dispatchedAt: null }),
    ];
    const delivery = (id: string, at: Date) => ({
      _id: id,
      orgId,
      eventId: id,
      sink: 's',
      outcome: 'delivered' as const,
      attempts: 1,
      at,
    });
    await collections.auditDeliveries.insertMany([delivery('d-old', old), delivery('d-new', recent)]);
    const letter = (id: string, at: Date) => ({
      _id: id,
      orgId,
      eventId: id,
      sink: 's',
      status: 'dead' as const,
      reason: 'http_5xx',
      lastStatusCode: 500,
      lastError: '',
      attempts: 12,
      deadLetteredAt: at,
      redriveCount: 0,
      redrivenAt: null,
      resolvedAt: null,
    });
    await collections.auditDeadLetters.insertMany([letter('l-old', old), letter('l-new', recent)]);
    const effect = (id: string, at: Date) => ({ _id: id, orgId, effect: 'default-group', eventId: id, at });
    await collections.appliedEffects.insertMany([effect('e-old', old), effect('e-new', recent)]);
    // Request log records carry their own expiry (the api's REQUEST_LOG_RETENTION_DAYS), whatever the audit period.
    const request = (id: string, expiresAt: Date) => ({
      ...requestLogEntry({
        orgId,
        at: new Date(expiresAt.getTime() - DAY),
        method: 'GET',
        route: '/scim/v2/Users',
        status: 401,
        requestId: id,
      }),
      _id: id,
      expiresAt,
      kind: 'request' as const,
      outcome: 'failure' as const,
    });
    await collections.requestLogs.insertMany([
      ...Array.from({ length: 4 }, (_, i) => request(`r-old-${i}`, new Date(now - 1_000))),
      request('r-new', new Date(now + DAY)),
    ]);

    const retention = new AuditRetention({
      collections,
      retentionDays: 400,
      intervalMs: 60_000,
      batchSize: 3,
      pauseMs: 0,
      maxBatchesPerPass: 2,
      logger: createLogger({ service: 'retention-test', level: 'silent' }),
    });
    // Two batches of three: a pass removes at most six events, the next pass the seventh.
    expect(await retention.trimOnce(now)).toEqual({
      audit_events: 6,
      audit_deliveries: 1,
      audit_dead_letters: 1,
      applied_effects: 1,
      request_logs: 4,
    });
    expect(await retention.trimOnce(now)).toEqual({
      audit_events: 1,
      audit_deliveries: 0,
      audit_dead_letters: 0,
      applied_effects: 0,
      request_logs: 0,
    });
    const left = await collections.auditEvents.find({ orgId }).toArray();
    expect(left.map((e) => e._id).sort()).toEqual(kept.map((e) => e._id).sort());
    expect(await collections.auditDeliveries.countDocuments({ orgId })).toBe(1);
    expect(await collections.auditDeadLetters.countDocuments({ orgId })).toBe(1);
    expect(await collections.appliedEffects.countDocuments({ orgId })).toBe(1);
    expect((await collections.requestLogs.find({ orgId }).toArray()).map((r) => r._id)).toEqual(['r-new']);
  });
});
