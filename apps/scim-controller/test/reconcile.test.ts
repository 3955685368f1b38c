import { randomUUID } from 'node:crypto';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../src/api/scim-tenant.js';
import { OwnershipPolicy } from '../src/tenancy/ownership-policy.js';
import { mintToken } from '@scimbridge/tenancy';
import {
  condition,
  organisationOfToken,
  secretToken,
  startTestController,
  waitForReady,
  type TestController,
} from './harness.js';
import {
  applyCrd,
  createTenant,
  deleteTenantAndWait,
  freshNamespace,
  getTenant,
  kubeClients,
  patchTenantSpec,
  tenantManifest,
} from './kube.js';
import { waitFor } from '@scimbridge/testing';

const kube = kubeClients(inject('kubeconfig'));
let running: TestController | undefined;
let namespace: string;

beforeAll(async () => {
  await applyCrd(kube.kc);
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function start(
  options: { resyncPeriodMs?: number; namespace?: string; policy?: OwnershipPolicy } = {},
): Promise<TestController> {
  namespace = options.namespace ?? (await freshNamespace(kube.core, 'rec'));
  running = await startTestController(kube, {
    namespace,
    mongoUri: inject('mongodbUri'),
    redisUrl: inject('redisUrl'),
    database: `ctl_${randomUUID().slice(0, 8)}`,
    ...options,
  });
  return running;
}

const org = () => `org-${randomUUID().slice(0, 8)}`;

describe('reconciling a ScimTenant', () => {
  it('applies settings, writes a token Secret the api accepts and reports Ready for the current generation', async () => {
    const { connection, authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'acme', {
        organisationId: orgId,
        displayName: 'Acme',
        plan: { userLimit: 100 },
      }),
    );
    const tenant = await waitForReady(kube, namespace, 'acme');

    expect(tenant.metadata.finalizers).toContain(FINALIZER);
    expect(tenant.status).toMatchObject({ secretName: 'acme-scim-token', users: 0, groups: 0 });
    expect(tenant.status?.tokenFingerprint).toMatch(/^[0-9a-f]{8}$/);
    for (const type of ['Ready', 'SettingsApplied', 'TokenIssued'] as const)
      expect(condition(tenant, type)).toMatchObject({
        status: 'True',
        observedGeneration: tenant.metadata.generation,
      });

    const secret = await kube.core.readNamespacedSecret({ namespace, name: 'acme-scim-token' });
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'scim-controller',
      'scimbridge.io/tenant': 'acme',
      'scimbridge.io/use': 'generated-token',
    });
    // deletionPolicy Retain (the default): no ownerReference, so no cascade mode can delete it; the uid says whose.
    expect(secret.metadata?.ownerReferences ?? []).toEqual([]);
    expect(secret.metadata?.annotations?.['scimbridge.io/tenant-uid']).toBe(tenant.metadata.uid);
    const token = await secretToken(kube, namespace, 'acme-scim-token');
    expect(token).toMatch(/^scimb_[0-9A-Za-z]{49}$/);
    expect(await organisationOfToken(authenticator, token)).toBe(orgId);

    // Only the hash is stored.
    const stored = await connection.collection('tokens').find({ orgId }).toArray();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token);
    const organisation = await connection.collection('organisations').findOne({ _id: orgId as never });
    expect(organisation).toMatchObject({
      displayName: 'Acme',
      settings: {
        enabled: true,
        plan: { scimIncluded: true, userLimit: 100 },
        defaultGroup: null,
        rateLimit: { requestsPerSecond: 50, burst: 100 },
      },
    });

    // Spec change → new generation applied.
    await patchTenantSpec(kube, namespace, 'acme', { displayName: 'Acme Corp', enabled: false });
    const disabled = await waitForReady(kube, namespace, 'acme', 'False', 'ProvisioningDisabled');
    expect(disabled.metadata.generation).toBe(2);
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      displayName: 'Acme Corp',
      settings: { enabled: false },
    });
    expect(await secretToken(kube, namespace, 'acme-scim-token')).toBe(token);
  });

  it('issues a new token when the rotation counter is bumped; the old one is refused within a second despite the auth cache', async () => {
    const { authenticator } = await start();
    const orgId = org();
    await createTenant(kube, tenantManifest(namespace, 'rot', { organisationId: orgId, displayName: 'Rot' }));
    const first = await waitForReady(kube, namespace, 'rot');
    const oldToken = await secretToken(kube, namespace, 'rot-scim-token');
    // Now cached for 30 s by the authenticator, as in a running api replica.
    expect(await organisationOfToken(authenticator, oldToken)).toBe(orgId);

    await patchTenantSpec(kube, namespace, 'rot', { token: { rotation: 1 } });
    const rotated = await waitForReady(kube, namespace, 'rot');
    const newToken = await secretToken(kube, namespace, 'rot-scim-token');
    expect(newToken).not.toBe(oldToken);
    expect(rotated.status?.tokenFingerprint).not.toBe(first.status?.tokenFingerprint);
    expect(await organisationOfToken(authenticator, newToken)).toBe(orgId);
    await waitFor(
      'the old token to be refused',
      async () => (await organisationOfToken(authenticator, oldToken)) === null,
      {
        timeoutMs: 1_000,
        intervalMs: 50,
      },
    );
    const secret = await kube.core.readNamespacedSecret({ namespace, name: 'rot-scim-token' });
    expect(secret.metadata?.annotations?.['scimbridge.io/rotation']).toBe('1');
  });

  it('leaves no valid token when revoked, and issues a fresh one when un-revoked', async () => {
    const { connection, authenticator } = await start();
    const orgId = org();
    await createTenant(kube, tenantManifest(namespace, 'rev', { organisationId: orgId, displayName: 'Rev' }));
    await waitForReady(kube, namespace, 'rev');
    const token = await secretToken(kube, namespace, 'rev-scim-token');

    await patchTenantSpec(kube, namespace, 'rev', { token: { revoked: true } });
    const revoked = await waitForReady(kube, namespace, 'rev', 'False', 'TokenRevoked');
    expect(condition(revoked, 'TokenIssued')).toMatchObject({ status: 'False', reason: 'TokenRevoked' });
    expect(revoked.status?.tokenFingerprint).toBeUndefined();
    expect(await organisationOfToken(authenticator, token)).toBeNull();
    // Kept marked revoked (the request log names it "token-revoked"), never valid again.
    expect(await connection.collection('tokens').countDocuments({ orgId, revokedAt: null })).toBe(0);
    await expect(kube.core.readNamespacedSecret({ namespace, name: 'rev-scim-token' })).rejects.toMatchObject(
      { code: 404 },
    );

    await patchTenantSpec(kube, namespace, 'rev', { token: { revoked: false } });
    await waitForReady(kube, namespace, 'rev');
    const fresh = await secretToken(kube, namespace, 'rev-scim-token');
    expect(fresh).not.toBe(token);
    expect(await organisationOfToken(authenticator, fresh)).toBe(orgId);
  });

  it('uses a user-supplied token Secret and follows changes to it', async () => {
    const { authenticator } = await start();
    const orgId = org();
    const mine = mintToken();
    await kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'my-token', labels: { 'scimbridge.io/use': 'token' } },
        stringData: { value: mine },
      },
    });
    await createTenant(
      kube,
      tenantManifest(namespace, 'byo', {
        organisationId: orgId,
        displayName: 'BYO',
        token: { existingSecretRef: { name: 'my-token', key: 'value' } },
      }),
    );
    const tenant = await waitForReady(kube, namespace, 'byo');
    expect(tenant.status?.secretName).toBe('my-token');
    expect(await organisationOfToken(authenticator, mine)).toBe(orgId);
    await expect(kube.core.readNamespacedSecret({ namespace, name: 'byo-scim-token' })).rejects.toMatchObject(
      { code: 404 },
    );

    const next = mintToken();
    await kube.core.replaceNamespacedSecret({
      namespace,
      name: 'my-token',
      body: {
        metadata: { name: 'my-token', labels: { 'scimbridge.io/use': 'token' } },
        stringData: { value: next },
      },
    });
    await waitFor(
      'the changed Secret to be picked up',
      async () => (await organisationOfToken(authenticator, next)) === orgId,
      { timeoutMs: 15_000 },
    );
    // The new hash is stored first, then the old one deleted and its revocation broadcast.
    await waitFor(
      'the previous token to be refused',
      async () => (await organisationOfToken(authenticator, mine)) === null,
      {
        timeoutMs: 1_000,
        intervalMs: 50,
      },
    );

    await kube.core.replaceNamespacedSecret({
      namespace,
      name: 'my-token',
      body: {
        metadata: { name: 'my-token', labels: { 'scimbridge.io/use': 'token' } },
        stringData: { value: 'not-a-token' },
      },
    });
    const invalid = await waitForReady(kube, namespace, 'byo', 'False', 'InvalidToken');
    expect(condition(invalid, 'Ready')?.message).toContain(
      'the token in Secret my-token key value is not acceptable: shorter than 32 characters',
    );

    // Dropping the opt-in label makes the Secret unusable: the informer sees it go, and its token with it.
    await kube.core.replaceNamespacedSecret({
      namespace,
      name: 'my-token',
      body: { metadata: { name: 'my-token' }, stringData: { value: mintToken() } },
    });
    await waitForReady(kube, namespace, 'byo', 'False', 'SecretNotOptedIn');
  });

  it('maps spec.audit.eventStreams into the settings, the Authorization value only from an opted-in Secret', async () => {
    const { connection } = await start();
    const orgId = org();
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'siem-auth' }, stringData: { authorization: 'Bearer first-value' } },
    });
    await createTenant(
      kube,
      tenantManifest(namespace, 'events', {
        organisationId: orgId,
        displayName: 'Events',
        audit: {
          eventStreams: [
            {
              name: 'siem',
              url: 'https://siem.example.com/set',
              audience: 'https://siem.example.com',
              authorizationSecretRef: { name: 'siem-auth' },
            },
            { name: 'plain', url: 'https://plain.example.com/set', audience: 'plain' },
          ],
        },
      }),
    );
    const refused = await waitForReady(kube, namespace, 'events', 'False', 'SecretNotOptedIn');
    expect(condition(refused, 'Ready')?.message).toContain('audit event stream siem');
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toBeNull();

    await kube.core.replaceNamespacedSecret({
      namespace,
      name: 'siem-auth',
      body: {
        metadata: { name: 'siem-auth', labels: { 'scimbridge.io/use': 'event-stream-auth' } },
        stringData: { authorization: 'Bearer first-value' },
      },
    });
    await waitForReady(kube, namespace, 'events');
    const streams = async () =>
      (
        (await connection.collection('organisations').findOne({ _id: orgId as never })) as {
          settings: { audit: { eventStreams: unknown[] } };
        } | null
      )?.settings.audit.eventStreams;
    expect(await streams()).toEqual([
      {
        name: 'siem',
        url: 'https://siem.example.com/set',
        audience: 'https://siem.example.com',
        authorization: 'Bearer first-value',
      },
      { name: 'plain', url: 'https://plain.example.com/set', audience: 'plain', authorization: null },
    ]);

    await kube.core.replaceNamespacedSecret({
      namespace,
      name: 'siem-auth',
      body: {
        metadata: { name: 'siem-auth', labels: { 'scimbridge.io/use': 'event-stream-auth' } },
        stringData: { authorization: 'Bearer second-value' },
      },
    });
    await waitFor(
      'the changed Secret to reach the settings',
      async () => JSON.stringify(await streams()).includes('Bearer second-value'),
      { timeoutMs: 15_000 },
    );
  });

  it('reports DefaultGroupNotFound until the group exists, then becomes Ready', async () => {
    const { connection } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'grp', {
        organisationId: orgId,
        displayName: 'Grp',
        defaultGroup: 'Engineering',
      }),
    );
    const waiting = await waitForReady(kube, namespace, 'grp', 'False', 'DefaultGroupNotFound');
    expect(condition(waiting, 'Ready')?.message).toContain('default group "Engineering" does not exist');
    expect(condition(waiting, 'TokenIssued')?.status).toBe('True');

    const now = new Date();
    await connection.collection('groups').insertOne({
      _id: randomUUID() as never,
      orgId,
      displayName: 'Engineering',
      displayNameKey: 'engineering',
      meta: { created: now, lastModified: now, version: 1 },
    });
    await waitForReady(kube, namespace, 'grp');
  });

  it('on delete disables provisioning, keeps users and groups, retains the Secret by default and removes the finalizer', async () => {
    namespace = await freshNamespace(kube.core, 'rec');
    // This namespace's rule keeps a released token valid, so the IdP survives a delete and re-create.
    const { connection, authenticator } = await start({
      namespace,
      policy: OwnershipPolicy.parse([
        { namespace, organisationIds: ['*'], adopt: true, keepTokenOnRelease: true },
      ]),
    });
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'keep', { organisationId: orgId, displayName: 'Keep' }),
    );
    await waitForReady(kube, namespace, 'keep');
    const token = await secretToken(kube, namespace, 'keep-scim-token');
    await connection.collection('users').insertOne({
      _id: randomUUID() as never,
      orgId,
      userName: 'a@x',
      userNameKey: 'a@x',
      scim: { managed: true },
    });
    await connection
      .collection('groups')
      .insertOne({ _id: randomUUID() as never, orgId, displayName: 'G', displayNameKey: 'g' });

    await deleteTenantAndWait(kube, namespace, 'keep');

    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      settings: { enabled: false },
    });
    expect(await connection.collection('users').countDocuments({ orgId })).toBe(1);
    expect(await connection.collection('groups').countDocuments({ orgId })).toBe(1);
    const secret = await kube.core.readNamespacedSecret({ namespace, name: 'keep-scim-token' });
    expect(secret.metadata?.ownerReferences ?? []).toEqual([]);

    // The released organisation is taken back only when asked for explicitly.
    await createTenant(
      kube,
      tenantManifest(namespace, 'keep', { organisationId: orgId, displayName: 'Keep' }),
    );
    await waitForReady(kube, namespace, 'keep', 'False', 'AdoptionRequired');
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      settings: { enabled: false },
    });
    // Re-created under the same name and adopted: the retained token stays the valid one (the IdP keeps working).
    await patchTenantSpec(kube, namespace, 'keep', { adoptExistingOrganisation: true });
    const again = await waitForReady(kube, namespace, 'keep');
    expect(again.status).toMatchObject({ users: 1, groups: 1 });
    expect(await secretToken(kube, namespace, 'keep-scim-token')).toBe(token);
    expect(await organisationOfToken(authenticator, token)).toBe(orgId);
  });

  it('on delete with Retain and the default policy revokes the token but keeps the Secret; an adopter gets a new token', async () => {
    const { authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'keep', { organisationId: orgId, displayName: 'Keep' }),
    );
    await waitForReady(kube, namespace, 'keep');
    const token = await secretToken(kube, namespace, 'keep-scim-token');
    await deleteTenantAndWait(kube, namespace, 'keep');
    expect(await secretToken(kube, namespace, 'keep-scim-token')).toBe(token);
    expect(await organisationOfToken(authenticator, token)).toBeNull();

    await createTenant(
      kube,
      tenantManifest(namespace, 'keep', {
        organisationId: orgId,
        displayName: 'Keep',
        adoptExistingOrganisation: true,
      }),
    );
    await waitForReady(kube, namespace, 'keep');
    const fresh = await secretToken(kube, namespace, 'keep-scim-token');
    expect(fresh).not.toBe(token);
    expect(await organisationOfToken(authenticator, fresh)).toBe(orgId);
  });

  it('on delete with deletionPolicy Delete removes the Secret and the token', async () => {
    const { connection, authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'gone', {
        organisationId: orgId,
        displayName: 'Gone',
        token: { deletionPolicy: 'Delete' },
      }),
    );
    const owner = await waitForReady(kube, namespace, 'gone');
    // Delete: owned by the tenant, so the garbage collector removes it with the tenant in any cascade mode.
    expect(
      (await kube.core.readNamespacedSecret({ namespace, name: 'gone-scim-token' })).metadata
        ?.ownerReferences,
    ).toEqual([
      expect.objectContaining({ uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    const token = await secretToken(kube, namespace, 'gone-scim-token');
    await deleteTenantAndWait(kube, namespace, 'gone');
    await expect(
      kube.core.readNamespacedSecret({ namespace, name: 'gone-scim-token' }),
    ).rejects.toMatchObject({ code: 404 });
    expect(await organisationOfToken(authenticator, token)).toBeNull();
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      settings: { enabled: false },
    });
  });

  // No kube-controller-manager runs here, so there is no garbage collector. What the test can prove: nothing gives
  // the collector a reason to delete the Secret (no ownerReference points at the tenant, blocking or not) before,
  // during or after the deletion, and the finalizer's run keeps the Secret whatever propagationPolicy was asked.
  // Foreground and Orphan add the collector's own finalizer (foregroundDeletion / orphan), which only it removes,
  // so there the tenant stays Terminating once ours is gone.
  for (const propagationPolicy of ['Foreground', 'Background', 'Orphan'] as const)
    it(`keeps a Retain Secret when the tenant is deleted with propagationPolicy ${propagationPolicy}`, async () => {
      await start();
      const orgId = org();
      const tenant = await createTenant(
        kube,
        tenantManifest(namespace, 'kept', { organisationId: orgId, displayName: 'Kept' }),
      );
      await waitForReady(kube, namespace, 'kept');
      const token = await secretToken(kube, namespace, 'kept-scim-token');
      const ownersOfSecret = async () =>
        (
          (await kube.core.readNamespacedSecret({ namespace, name: 'kept-scim-token' })).metadata
            ?.ownerReferences ?? []
        ).filter((r) => r.uid === tenant.metadata.uid);
      expect(await ownersOfSecret()).toEqual([]);

      await kube.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: 'kept',
        propagationPolicy,
      });
      await waitFor(`our finalizer to be removed (${propagationPolicy})`, () =>
        getTenant(kube, namespace, 'kept').then(
          (t) => !(t.metadata.finalizers ?? []).includes(FINALIZER),
          (e: { code?: number }) => e.code === 404,
        ),
      );
      const remaining = await getTenant(kube, namespace, 'kept').catch(() => undefined);
      if (propagationPolicy === 'Background') expect(remaining).toBeUndefined();
      else
        expect(remaining?.metadata.finalizers).toEqual([
          propagationPolicy === 'Foreground' ? 'foregroundDeletion' : 'orphan',
        ]);
      expect(await secretToken(kube, namespace, 'kept-scim-token')).toBe(token);
      expect(await ownersOfSecret()).toEqual([]);
    });

  it('repairs drift: a deleted token Secret is re-issued', async () => {
    const { authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'drift', { organisationId: orgId, displayName: 'Drift' }),
    );
    await waitForReady(kube, namespace, 'drift');
    const token = await secretToken(kube, namespace, 'drift-scim-token');
    await kube.core.deleteNamespacedSecret({ namespace, name: 'drift-scim-token' });
    await waitFor(
      'a new Secret',
      () =>
        secretToken(kube, namespace, 'drift-scim-token').then(
          (t) => t !== token,
          () => false,
        ),
      { timeoutMs: 15_000 },
    );
    const fresh = await secretToken(kube, namespace, 'drift-scim-token');
    expect(await organisationOfToken(authenticator, fresh)).toBe(orgId);
    expect(await organisationOfToken(authenticator, token)).toBeNull();
  });

  it('repairs drift: a token edited into the Secret is replaced by a newly issued one', async () => {
    const { authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'edit', { organisationId: orgId, displayName: 'Edit' }),
    );
    await waitForReady(kube, namespace, 'edit');
    const original = await secretToken(kube, namespace, 'edit-scim-token');
    const typed = mintToken();
    await kube.core.patchNamespacedSecret(
      {
        namespace,
        name: 'edit-scim-token',
        body: { data: { token: Buffer.from(typed).toString('base64') } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(
      'a re-issued token',
      async () => {
        const current = await secretToken(kube, namespace, 'edit-scim-token');
        return current !== typed && current !== original;
      },
      { timeoutMs: 15_000 },
    );
    const fresh = await secretToken(kube, namespace, 'edit-scim-token');
    expect(await organisationOfToken(authenticator, fresh)).toBe(orgId);
    expect(await organisationOfToken(authenticator, typed)).toBeNull();
    expect(await organisationOfToken(authenticator, original)).toBeNull();
  });

  it('repairs drift in MongoDB on the periodic resync: settings and a lost token hash', async () => {
    const { connection, authenticator } = await start({ resyncPeriodMs: 1_000 });
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'mdrift', { organisationId: orgId, displayName: 'M' }),
    );
    await waitForReady(kube, namespace, 'mdrift');
    await connection
      .collection('organisations')
      .updateOne({ _id: orgId as never }, { $set: { 'settings.enabled': false } });
    await connection.collection('tokens').deleteMany({ orgId });
    await waitFor(
      'settings restored and a token valid again',
      async () => {
        const organisation = await connection.collection('organisations').findOne({ _id: orgId as never });
        const token = await secretToken(kube, namespace, 'mdrift-scim-token');
        return (
          organisation?.settings.enabled === true &&
          (await organisationOfToken(authenticator, token)) === orgId
        );
      },
      { timeoutMs: 15_000 },
    );
  });
});

describe('scim_tenant_ready', () => {
  async function readiness(registry: TestController['registry']) {
    const metric = await registry.getSingleMetric('scim_tenant_ready')!.get();
    return Object.fromEntries(
      metric.values.map((v) => [`${v.labels.tenant_namespace}/${v.labels.tenant}`, v.value]),
    );
  }

  it('reports 1 for a Ready tenant, 0 for one that is not, and drops a deleted tenant', async () => {
    const { registry } = await start();
    await createTenant(
      kube,
      tenantManifest(namespace, 'fine', { organisationId: org(), displayName: 'Fine' }),
    );
    await createTenant(
      kube,
      tenantManifest(namespace, 'off', { organisationId: org(), displayName: 'Off', enabled: false }),
    );
    await waitForReady(kube, namespace, 'fine');
    await waitForReady(kube, namespace, 'off', 'False', 'ProvisioningDisabled');
    await waitFor('the gauge to follow the statuses', async () => {
      const values = await readiness(registry);
      return values[`${namespace}/fine`] === 1 && values[`${namespace}/off`] === 0;
    });
    await kube.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name: 'fine',
    });
    await waitFor(
      'the deleted tenant to leave the gauge',
      async () => !(`${namespace}/fine` in (await readiness(registry))),
    );
    expect((await readiness(registry))[`${namespace}/off`]).toBe(0);
  });
});

describe('one ScimTenant per organisation', () => {
  const remove = (name: string) =>
    kube.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    });
  const gone = (name: string) =>
    waitFor(`${name} deleted`, async () => {
      try {
        await getTenant(kube, namespace, name);
        return false;
      } catch {
        return true;
      }
    });

  it('refuses a second tenant for the same organisation without touching it, and hands over when the first goes', async () => {
    const { connection, authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'first', { organisationId: orgId, displayName: 'First' }),
    );
    await waitForReady(kube, namespace, 'first');
    const token = await secretToken(kube, namespace, 'first-scim-token');

    await createTenant(
      kube,
      tenantManifest(namespace, 'copy', { organisationId: orgId, displayName: 'Copy' }),
    );
    const copy = await waitForReady(kube, namespace, 'copy', 'False', 'OrganisationConflict');
    expect(condition(copy, 'Ready')?.message).toContain(`ScimTenant ${namespace}/first`);
    // Nothing of the copy reached the organisation: its settings, its token and its Secret stay the first's.
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      displayName: 'First',
      settings: { enabled: true },
    });
    await expect(kube.core.readNamespacedSecret({ namespace, name: 'copy-scim-token' })).rejects.toThrow();
    expect(await organisationOfToken(authenticator, token)).toBe(orgId);

    // Deleting the copy must not disable the first's organisation or revoke its token.
    await remove('copy');
    await gone('copy');
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      settings: { enabled: true },
    });
    expect(await organisationOfToken(authenticator, token)).toBe(orgId);
    expect(condition(await getTenant(kube, namespace, 'first'), 'Ready')?.status).toBe('True');

    // A duplicate waiting for the organisation takes it over once its owner is deleted.
    await createTenant(
      kube,
      tenantManifest(namespace, 'next', { organisationId: orgId, displayName: 'Next' }),
    );
    await waitForReady(kube, namespace, 'next', 'False', 'OrganisationConflict');
    await remove('first');
    await gone('first');
    // The first's deletion (Retain) released an existing organisation: taking it over needs an explicit adoption.
    await waitForReady(kube, namespace, 'next', 'False', 'AdoptionRequired');
    await patchTenantSpec(kube, namespace, 'next', { adoptExistingOrganisation: true });
    await waitForReady(kube, namespace, 'next');
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      displayName: 'Next',
      settings: { enabled: true },
    });
  });

  it('stops writing for a tenant whose namespace the policy no longer allows, which keeps its claim', async () => {
    namespace = await freshNamespace(kube.core, 'rec');
    const servers = {
      namespace,
      mongoUri: inject('mongodbUri'),
      redisUrl: inject('redisUrl'),
      database: `ctl_${randomUUID().slice(0, 8)}`,
    };
    running = await startTestController(kube, servers);
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'held', { organisationId: orgId, displayName: 'Held' }),
    );
    const held = await waitForReady(kube, namespace, 'held');
    await running.stop();

    // Restarted with a policy that no longer names this namespace.
    running = await startTestController(kube, { ...servers, policy: OwnershipPolicy.parse([]) });
    await patchTenantSpec(kube, namespace, 'held', { displayName: 'Changed' });
    await waitForReady(kube, namespace, 'held', 'False', 'OrganisationNotAllowed');
    const { connection } = running;
    expect(await connection.collection('organisations').findOne({ _id: orgId as never })).toMatchObject({
      displayName: 'Held',
    });
    expect(await connection.collection('organisation_claims').findOne({ _id: orgId as never })).toMatchObject(
      {
        uid: held.metadata.uid,
      },
    );
  });

  it('takes over a claim whose ScimTenant no longer exists', async () => {
    const { connection } = await start();
    const orgId = org();
    // Left by a tenant deleted while no controller ran its finalizer.
    await connection.collection('organisation_claims').insertOne({
      _id: orgId as never,
      uid: 'gone-uid',
      namespace,
      name: 'vanished',
      claimedAt: new Date(),
    });
    await createTenant(
      kube,
      tenantManifest(namespace, 'heir', { organisationId: orgId, displayName: 'Heir' }),
    );
    const heir = await waitForReady(kube, namespace, 'heir');
    expect(await connection.collection('organisation_claims').findOne({ _id: orgId as never })).toMatchObject(
      {
        uid: heir.metadata.uid,
        name: 'heir',
      },
    );
  });
});
