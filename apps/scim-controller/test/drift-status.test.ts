import { randomUUID } from 'node:crypto';
import { detectStoreProfile, storeCollections, uuidv7 } from '@scimbridge/store';
import { waitFor } from '@scimbridge/testing';
import mongoose, { type Connection } from 'mongoose';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScimTenant } from '../src/api/scim-tenant.js';
import { DriftStatusReporter } from '../src/drift/drift-status.js';
import { startTestController, waitForReady, type TestController } from './harness.js';
import {
  applyCrd,
  createTenant,
  freshNamespace,
  getTenant,
  kubeClients,
  patchTenantSpec,
  tenantManifest,
} from './kube.js';

// status.drift on a real kube-apiserver and MongoDB-wire server: written after the first reconcile, recomputed on
// its own period (drift created in the database shows up without any change to the ScimTenant), and kept as it
// is by reconciles that come sooner.
const kube = kubeClients(inject('kubeconfig'));
let running: TestController | undefined;
let own: Connection | undefined;

beforeAll(async () => {
  await applyCrd(kube.kc);
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await own?.close();
  own = undefined;
});

async function start(intervalMs: number) {
  const namespace = await freshNamespace(kube.core, 'drift');
  const database = `ctl_${randomUUID().slice(0, 8)}`;
  own = await mongoose
    .createConnection(inject('mongodbUri'), { dbName: database, serverSelectionTimeoutMS: 1_500 })
    .asPromise();
  const drift = new DriftStatusReporter(own, {
    intervalMs,
    budget: 10_000,
    profile: await detectStoreProfile(own),
    logger: pino({ level: 'silent' }),
  });
  running = await startTestController(kube, {
    namespace,
    mongoUri: inject('mongodbUri'),
    redisUrl: inject('redisUrl'),
    database,
    drift,
  });
  return { namespace, connection: own };
}

async function waitForDrift(
  namespace: string,
  name: string,
  done: (t: ScimTenant) => boolean,
): Promise<ScimTenant> {
  let last: ScimTenant | undefined;
  await waitFor(
    `${namespace}/${name} status.drift`,
    async () => {
      last = await getTenant(kube, namespace, name);
      return done(last);
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

describe('status.drift', () => {
  it('appears after the first reconcile and is recomputed on its period', async () => {
    const { namespace, connection } = await start(1_000);
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await createTenant(
      kube,
      tenantManifest(namespace, 'drifty', { organisationId: orgId, displayName: 'D' }),
    );
    await waitForReady(kube, namespace, 'drifty');
    const first = await waitForDrift(namespace, 'drifty', (t) => t.status?.drift !== undefined);
    expect(first.status?.drift).toMatchObject({
      partial: false,
      inactiveAccounts: 0,
      unlinkedAccounts: 0,
      danglingMemberships: 0,
      undeliveredEvents: 0,
    });
    expect(first.status?.drift?.examined).toBeGreaterThanOrEqual(1);

    // Two rows of a group that does not exist: drift nobody tells the controller about.
    const store = storeCollections(connection);
    const groupId = uuidv7();
    await store.memberships.insertMany(
      [uuidv7(), uuidv7()].map((memberId) => ({
        _id: `${groupId}:${memberId}`,
        orgId,
        groupId,
        memberId,
        memberType: 'User' as const,
        addedAt: new Date(),
      })),
    );
    const later = await waitForDrift(namespace, 'drifty', (t) => t.status?.drift?.danglingMemberships === 2);
    expect(Date.parse(later.status!.drift!.checkedAt)).toBeGreaterThan(
      Date.parse(first.status!.drift!.checkedAt),
    );
    expect(later.status?.drift?.partial).toBe(false);
  });

  it('keeps the last counts with the error when a report fails, and waits a period before trying again', async () => {
    const closed = await mongoose
      .createConnection(inject('mongodbUri'), { dbName: 'drift_closed', serverSelectionTimeoutMS: 500 })
      .asPromise();
    const reporter = new DriftStatusReporter(closed, {
      intervalMs: 60_000,
      budget: 1_000,
      profile: await detectStoreProfile(closed),
      logger: pino({ level: 'silent' }),
    });
    await closed.close();
    const now = new Date();
    const previous = {
      checkedAt: new Date(now.getTime() - 120_000).toISOString(),
      partial: false,
      examined: 12,
      inactiveAccounts: 1,
      unlinkedAccounts: 0,
      danglingMemberships: 3,
      undeliveredEvents: 0,
    };
    const failed = await reporter.status('org-x', previous, now);
    expect(failed.requeueAfterMs).toBe(60_000);
    expect(failed.drift).toMatchObject({ ...previous, error: expect.stringMatching(/\S/) as string });
    // Ten seconds later the failed attempt is not repeated: the same value, due in the rest of the period.
    const soon = await reporter.status('org-x', failed.drift, new Date(now.getTime() + 10_000));
    expect(soon).toEqual({ drift: failed.drift, requeueAfterMs: 50_000 });
  });

  it('is not recomputed by a reconcile that comes before its period', async () => {
    const { namespace } = await start(3_600_000);
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await createTenant(
      kube,
      tenantManifest(namespace, 'steady', { organisationId: orgId, displayName: 'S' }),
    );
    const first = await waitForDrift(namespace, 'steady', (t) => t.status?.drift !== undefined);
    await patchTenantSpec(kube, namespace, 'steady', { displayName: 'Steady' });
    const next = await waitForDrift(
      namespace,
      'steady',
      (t) => t.status?.observedGeneration === t.metadata.generation && t.metadata.generation! > 1,
    );
    expect(next.status?.drift).toEqual(first.status?.drift);
  });
});
