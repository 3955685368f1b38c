import { randomUUID } from 'node:crypto';
import { waitFor } from '@scimbridge/testing';
import { RequestLogWriter, requestLogEntry, type RequestLogEntry } from '@scimbridge/tenancy';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestController, waitForReady, type TestController } from './harness.js';
import { applyCrd, createTenant, freshNamespace, getTenant, kubeClients, tenantManifest } from './kube.js';

const kube = kubeClients(inject('kubeconfig'));
let running: TestController | undefined;

beforeAll(async () => {
  await applyCrd(kube.kc);
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function entry(orgId: string, at: Date, status: number, reason: string | null): RequestLogEntry {
  return requestLogEntry({
    orgId,
    at,
    method: 'GET',
    route: '/scim/v2/Users',
    status,
    reason,
    detail:
      reason === 'token-regenerated'
        ? 'The bearer token was regenerated at 2026-01-01T00:00:00.000Z; update your IdP with the new token.'
        : null,
    fingerprint: 'abcd1234',
    userAgent: 'Microsoft.Online.SCIM',
    requestId: randomUUID(),
  });
}

describe('status.requests', () => {
  it("summarises the organisation's request log: last success, last failure and the hour's failures by reason", async () => {
    const namespace = await freshNamespace(kube.core, 'req');
    running = await startTestController(kube, {
      namespace,
      mongoUri: inject('mongodbUri'),
      redisUrl: inject('redisUrl'),
      database: `ctl_${randomUUID().slice(0, 8)}`,
      resyncPeriodMs: 1_000,
    });
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await createTenant(kube, tenantManifest(namespace, 'req', { organisationId: orgId, displayName: 'Req' }));
    const ready = await waitForReady(kube, namespace, 'req');
    // Nothing logged yet: an empty hour, no success, no failure.
    expect(ready.status?.requests).toEqual({ lastHour: { failures: 0, byReason: [] } });

    const now = Date.now();
    const ago = (minutes: number) => new Date(now - minutes * 60_000);
    const writer = new RequestLogWriter(running.connection, { perOrgPerMinute: 1_000, retentionDays: 1 });
    writer.record(entry(orgId, ago(90), 401, 'token-regenerated')); // outside the hour
    writer.record(entry(orgId, ago(50), 200, null));
    for (let i = 0; i < 3; i++) writer.record(entry(orgId, ago(40 - i), 429, 'rate-limited'));
    for (let i = 0; i < 4; i++) writer.record(entry(orgId, ago(20 - i), 401, 'token-regenerated'));
    writer.record(entry(orgId, ago(10), 403, 'scim-disabled'));
    writer.record(entry(orgId, ago(5), 401, 'token-regenerated'));
    // Another organisation's records are not this tenant's.
    writer.record(entry('someone-else', ago(1), 500, 'http-500'));
    await writer.close();

    await waitFor(
      'the resync to summarise the log',
      async () => (await getTenant(kube, namespace, 'req')).status?.requests?.lastFailure !== undefined,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const { requests } = (await getTenant(kube, namespace, 'req')).status!;
    expect(requests).toEqual({
      lastSuccessAt: ago(50).toISOString(),
      lastFailure: {
        at: ago(5).toISOString(),
        status: 401,
        reason: 'token-regenerated',
        message:
          'The bearer token was regenerated at 2026-01-01T00:00:00.000Z; update your IdP with the new token.',
        tokenFingerprint: 'abcd1234',
      },
      lastHour: {
        failures: 9,
        byReason: [
          { reason: 'token-regenerated', count: 5 },
          { reason: 'rate-limited', count: 3 },
          { reason: 'scim-disabled', count: 1 },
        ],
      },
    });
  });
});
