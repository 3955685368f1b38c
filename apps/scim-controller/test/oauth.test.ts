// Issue 16 through the real apiserver: the pause switch, the managed OAuth client (client credentials and
// federation) with its Secret, and bearer-token rotation with an overlap.
import { randomUUID } from 'node:crypto';
import {
  authenticateClientSecret,
  getOrganisation,
  issueAccessToken,
  listClients,
  previousTokens,
} from '@scimbridge/tenancy';
import { waitFor } from '@scimbridge/testing';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScimTenant } from '../src/api/scim-tenant.js';
import { condition, secretToken, startTestController, waitForReady, type TestController } from './harness.js';
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

async function start(): Promise<TestController> {
  namespace = await freshNamespace(kube.core, 'oauth');
  running = await startTestController(kube, {
    namespace,
    mongoUri: inject('mongodbUri'),
    redisUrl: inject('redisUrl'),
    database: `ctl_${randomUUID().slice(0, 8)}`,
    scimBaseUrl: 'https://scim.example.com/scim/v2',
  });
  return running;
}

const org = () => `org-${randomUUID().slice(0, 8)}`;
const federation = {
  issuer: 'https://login.example.com/tenant/v2.0',
  subject: '00000000-0000-0000-0000-000000000001',
  audience: 'api://scimbridge',
  jwksUrl: 'https://login.example.com/tenant/discovery/v2.0/keys',
};

/** Waits for Ready=True of a generation after `after` (a spec change the controller has acted on). */
async function readyAfter(name: string, after: ScimTenant): Promise<ScimTenant> {
  let t: ScimTenant | undefined;
  await waitFor(`${name} generation > ${after.metadata.generation}`, async () => {
    t = await waitForReady(kube, namespace, name);
    return (t.metadata.generation ?? 0) > (after.metadata.generation ?? 0);
  });
  return t!;
}

async function clientSecretOf(name: string): Promise<{ id: string; secret: string }> {
  return {
    id: await secretToken(kube, namespace, name, 'client_id'),
    secret: await secretToken(kube, namespace, name, 'client_secret'),
  };
}

const secretGone = (name: string) =>
  kube.core.readNamespacedSecret({ namespace, name }).then(
    () => false,
    (e: { code?: number }) => e.code === 404,
  );

describe('spec.paused', () => {
  it('round-trips to the stored settings, reports ProvisioningPaused and counts in the paused gauge', async () => {
    const { connection, registry } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'p', { organisationId: orgId, displayName: 'P', paused: true }),
    );
    await waitForReady(kube, namespace, 'p', 'False', 'ProvisioningPaused');
    expect((await getOrganisation(connection, orgId))?.settings.paused).toBe(true);
    const paused = new RegExp(`^scim_tenant_paused\\{tenant_namespace="${namespace}",tenant="p"\\} 1$`, 'm');
    expect(await registry.getSingleMetricAsString('scim_tenant_paused')).toMatch(paused);

    await patchTenantSpec(kube, namespace, 'p', { paused: false });
    await waitForReady(kube, namespace, 'p');
    expect((await getOrganisation(connection, orgId))?.settings.paused).toBe(false);
    await waitFor('the gauge to read the updated cache', async () =>
      new RegExp(`^scim_tenant_paused\\{tenant_namespace="${namespace}",tenant="p"\\} 0$`, 'm').test(
        await registry.getSingleMetricAsString('scim_tenant_paused'),
      ),
    );
  });
});

describe('client credentials', () => {
  it('writes a client Secret whose secret authenticates, rotates it with and without an overlap, and removes it when disabled', async () => {
    const { connection } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'cc', {
        organisationId: orgId,
        displayName: 'CC',
        authentication: { clientCredentials: { enabled: true, previousSecretValidForSeconds: 60 } },
      }),
    );
    const first = await waitForReady(kube, namespace, 'cc');
    expect(condition(first, 'OAuthClientReady')).toMatchObject({ status: 'True' });

    const secret = await kube.core.readNamespacedSecret({ namespace, name: 'cc-scim-client' });
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'scim-controller',
      'scimbridge.io/tenant': 'cc',
      'scimbridge.io/use': 'generated-client',
    });
    expect(secret.metadata?.annotations).toMatchObject({
      'scimbridge.io/rotation': '0',
      'scimbridge.io/tenant-uid': first.metadata.uid,
    });
    expect(secret.metadata?.ownerReferences ?? []).toEqual([]);
    const v1 = await clientSecretOf('cc-scim-client');
    expect(v1.id).toMatch(/^scimc_/);
    expect(await authenticateClientSecret(connection, v1.id, v1.secret)).toMatchObject({ ok: true });

    // Status: the client and its secret's fingerprint, never the secret.
    expect(first.status?.oauth).toMatchObject({
      clientId: v1.id,
      secretName: 'cc-scim-client',
      tokenEndpointPath: '/oauth/token',
      tokenEndpoint: 'https://scim.example.com/oauth/token',
    });
    expect(first.status?.oauth?.secrets).toHaveLength(1);
    expect(JSON.stringify(first.status)).not.toContain(v1.secret);
    const clients = await listClients(connection, orgId);
    expect(clients.map((c) => [c.clientId, c.managedBy])).toEqual([[v1.id, 'scim-controller']]);
    expect(
      JSON.stringify(await connection.collection('oauth_client_secrets').find({}).toArray()),
    ).not.toContain(v1.secret);

    // Rotation with a 60 s overlap: both secrets work; status shows the old one's end.
    await patchTenantSpec(kube, namespace, 'cc', { authentication: { clientCredentials: { rotation: 1 } } });
    let rotated: ScimTenant | undefined;
    await waitFor('the rotated client secret in the Secret', async () => {
      rotated = await getTenant(kube, namespace, 'cc');
      return (
        (rotated.status?.oauth?.secrets.length ?? 0) === 2 && condition(rotated, 'Ready')?.status === 'True'
      );
    });
    const v2 = await clientSecretOf('cc-scim-client');
    expect(v2.id).toBe(v1.id);
    expect(v2.secret).not.toBe(v1.secret);
    expect(await authenticateClientSecret(connection, v1.id, v2.secret)).toMatchObject({ ok: true });
    expect(await authenticateClientSecret(connection, v1.id, v1.secret)).toMatchObject({ ok: true });
    const [old, current] = rotated!.status!.oauth!.secrets;
    expect(new Date(old!.expiresAt!).getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(current!.expiresAt).toBeUndefined();

    // Rotation without an overlap: every previous secret is refused at once.
    await patchTenantSpec(kube, namespace, 'cc', {
      authentication: { clientCredentials: { rotation: 2, previousSecretValidForSeconds: 0 } },
    });
    await waitFor(
      'the third client secret',
      async () => (await clientSecretOf('cc-scim-client')).secret !== v2.secret,
    );
    const v3 = await clientSecretOf('cc-scim-client');
    expect(await authenticateClientSecret(connection, v1.id, v3.secret)).toMatchObject({ ok: true });
    expect(await authenticateClientSecret(connection, v1.id, v2.secret)).toMatchObject({ ok: false });
    expect(await authenticateClientSecret(connection, v1.id, v1.secret)).toMatchObject({ ok: false });
    await waitFor('status to list one secret', async () => {
      const t = await getTenant(kube, namespace, 'cc');
      return t.status?.oauth?.secrets.length === 1;
    });

    // An access token obtained with the secret goes with the client.
    await issueAccessToken(connection, running!.redis, {
      orgId,
      clientId: v1.id,
      secretId: null,
      grant: 'client_secret',
      lifetimeSeconds: 3600,
    });

    // Disabled: the client, its secrets and access tokens are gone, and so is the Secret.
    await patchTenantSpec(kube, namespace, 'cc', {
      authentication: { clientCredentials: { enabled: false } },
    });
    await waitFor('the client Secret to be deleted', () => secretGone('cc-scim-client'));
    const off = await waitForReady(kube, namespace, 'cc');
    expect(off.status?.oauth).toBeUndefined();
    expect(condition(off, 'OAuthClientReady')).toBeUndefined();
    expect(await listClients(connection, orgId)).toEqual([]);
    expect(await authenticateClientSecret(connection, v1.id, v3.secret)).toMatchObject({ ok: false });
    expect(await connection.collection('tokens').countDocuments({ orgId, kind: 'access' })).toBe(0);
  });

  it('mints a new secret when the client Secret is deleted, and with deletionPolicy Delete removes both on delete', async () => {
    const { connection } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'd', {
        organisationId: orgId,
        displayName: 'D',
        token: { deletionPolicy: 'Delete' },
        authentication: { clientCredentials: { enabled: true, secretName: 'd-oauth' } },
      }),
    );
    const tenant = await waitForReady(kube, namespace, 'd');
    const v1 = await clientSecretOf('d-oauth');
    const secret = await kube.core.readNamespacedSecret({ namespace, name: 'd-oauth' });
    expect(secret.metadata?.ownerReferences?.map((r) => r.uid)).toEqual([tenant.metadata.uid]);

    await kube.core.deleteNamespacedSecret({ namespace, name: 'd-oauth' });
    await waitFor('a new client secret', async () =>
      kube.core.readNamespacedSecret({ namespace, name: 'd-oauth' }).then(
        (s) => Buffer.from(s.data!.client_secret!, 'base64').toString() !== v1.secret,
        () => false,
      ),
    );
    const v2 = await clientSecretOf('d-oauth');
    expect(v2.id).toBe(v1.id);
    expect(await authenticateClientSecret(connection, v1.id, v2.secret)).toMatchObject({ ok: true });
    expect(await authenticateClientSecret(connection, v1.id, v1.secret)).toMatchObject({ ok: false });

    await deleteTenantAndWait(kube, namespace, 'd');
    expect(await listClients(connection, orgId)).toEqual([]);
    expect(await secretGone('d-oauth')).toBe(true);
  });
});

describe('client credentials on delete with deletionPolicy Retain', () => {
  it('keeps the client Secret and, under the default policy, revokes the client', async () => {
    const { connection } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'r', {
        organisationId: orgId,
        displayName: 'R',
        authentication: { clientCredentials: { enabled: true } },
      }),
    );
    await waitForReady(kube, namespace, 'r');
    const v1 = await clientSecretOf('r-scim-client');
    await deleteTenantAndWait(kube, namespace, 'r');
    expect((await clientSecretOf('r-scim-client')).secret).toBe(v1.secret);
    expect(await listClients(connection, orgId)).toEqual([]);
    expect(await authenticateClientSecret(connection, v1.id, v1.secret)).toMatchObject({ ok: false });
  });
});

describe('workload identity federation', () => {
  it('keeps a secret-less managed client while set, and revokes federated access tokens when removed', async () => {
    const { connection, redis } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'f', {
        organisationId: orgId,
        displayName: 'F',
        authentication: { federation },
      }),
    );
    const ready = await waitForReady(kube, namespace, 'f');
    const clientId = ready.status?.oauth?.clientId;
    expect(clientId).toMatch(/^scimc_/);
    expect(ready.status?.oauth?.secrets).toEqual([]);
    expect(ready.status?.oauth?.secretName).toBeUndefined();
    expect(await secretGone('f-scim-client')).toBe(true);
    const stored = await getOrganisation(connection, orgId);
    expect(stored?.settings.authentication.federation).toEqual(federation);
    const clients = await listClients(connection, orgId);
    expect(clients).toHaveLength(1);
    expect(clients[0]).toMatchObject({ clientId, managedBy: 'scim-controller', secrets: [] });

    // A federated access token, as the token endpoint would issue; the client stays while client credentials is on.
    await patchTenantSpec(kube, namespace, 'f', { authentication: { clientCredentials: { enabled: true } } });
    await waitFor('the client Secret', async () => !(await secretGone('f-scim-client')));
    expect((await clientSecretOf('f-scim-client')).id).toBe(clientId);
    await issueAccessToken(connection, redis, {
      orgId,
      clientId: clientId!,
      secretId: null,
      grant: 'federation',
      lifetimeSeconds: 3600,
    });
    const before = await getTenant(kube, namespace, 'f');
    await patchTenantSpec(kube, namespace, 'f', { authentication: { federation: null } });
    await readyAfter('f', before);
    await waitFor(
      'the federated access token to be revoked',
      async () =>
        (await connection.collection('tokens').countDocuments({ orgId, grant: 'federation' })) === 0,
    );
    expect((await listClients(connection, orgId)).map((c) => c.clientId)).toEqual([clientId]);
    expect((await getOrganisation(connection, orgId))?.settings.authentication.federation).toBeNull();
  });
});

describe('bearer token rotation with an overlap', () => {
  it('keeps the previous token valid for previousTokenValidForSeconds and shows until when', async () => {
    const { connection, authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'g', {
        organisationId: orgId,
        displayName: 'G',
        token: { previousTokenValidForSeconds: 60 },
      }),
    );
    const first = await waitForReady(kube, namespace, 'g');
    expect(first.status?.previousTokenValidUntil).toBeUndefined();
    const oldToken = await secretToken(kube, namespace, 'g-scim-token');

    await patchTenantSpec(kube, namespace, 'g', { token: { rotation: 1 } });
    const rotated = await readyAfter('g', first);
    const newToken = await secretToken(kube, namespace, 'g-scim-token');
    expect(newToken).not.toBe(oldToken);
    const fresh = await authenticator.authenticate(newToken);
    expect(fresh).toMatchObject({ ok: true, orgId, credential: { validUntil: null } });
    const previous = await authenticator.authenticate(oldToken);
    expect(previous.ok).toBe(true);
    const until = previous.ok ? previous.credential.validUntil : null;
    expect(until!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(rotated.status?.previousTokenValidUntil).toBe(until!.toISOString());
    expect((await previousTokens(connection, orgId)).map((t) => t.validUntil?.toISOString())).toEqual([
      until!.toISOString(),
    ]);
  });

  it('clears previousTokenValidUntil once the grace has ended', async () => {
    const { authenticator } = await start();
    const orgId = org();
    await createTenant(
      kube,
      tenantManifest(namespace, 'h', {
        organisationId: orgId,
        displayName: 'H',
        token: { previousTokenValidForSeconds: 2 },
      }),
    );
    await waitForReady(kube, namespace, 'h');
    const oldToken = await secretToken(kube, namespace, 'h-scim-token');
    await patchTenantSpec(kube, namespace, 'h', { token: { rotation: 1 } });
    await waitFor(
      'a rotated token',
      async () => (await secretToken(kube, namespace, 'h-scim-token')) !== oldToken,
    );
    await waitFor(
      'previousTokenValidUntil to clear after the grace',
      async () => {
        const t = await getTenant(kube, namespace, 'h');
        return (
          t.metadata.generation === t.status?.observedGeneration &&
          t.status?.previousTokenValidUntil === undefined
        );
      },
      { timeoutMs: 15_000 },
    );
    expect((await authenticator.authenticate(oldToken)).ok).toBe(false);
  });
});
