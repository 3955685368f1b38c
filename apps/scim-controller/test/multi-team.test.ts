import { randomUUID } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { applyOrganisation, issueToken } from '@scimbridge/tenancy';
import { waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type ScimTenant } from '../src/api/scim-tenant.js';
import { OwnershipPolicy } from '../src/tenancy/ownership-policy.js';
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
  deleteTenantAndWait,
  freshNamespace,
  kubeClients,
  serviceAccountKubeConfig,
  tenantManifest,
  type Kube,
} from './kube.js';

/**
 * Two teams share one controller. Each team has a namespace and a service account that may only create
 * ScimTenants (and Secrets) there; the controller watches both namespaces with the policy below. Every refusal
 * must show in status and as an Event, and leave MongoDB exactly as it was.
 */
const admin = kubeClients(inject('kubeconfig'));
let running: TestController;
let teamA: string;
let teamB: string;
let asA: Kube;
let asB: Kube;
const run = randomUUID().slice(0, 6);
const orgA = `a${run}-main`;
const orgB = `b${run}-main`;
/** Created with scimctl's calls (settings, then a token), so no ScimTenant manages it. */
const scimctlOrgOfB = `b${run}-legacy`;
const scimctlOrgOfA = `a${run}-legacy`;
let scimctlTokenOfB: string;
let scimctlTokenOfA: string;

/** A kubeconfig for a fresh service account in `namespace` that may manage ScimTenants and Secrets there only. */
async function teamIdentity(namespace: string): Promise<Kube> {
  const rbac = admin.kc.makeApiClient(RbacAuthorizationV1Api);
  await admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'team' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'team' },
      rules: [
        { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'team' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'team' },
      subjects: [{ kind: 'ServiceAccount', name: 'team', namespace }],
    },
  });
  const kc = await serviceAccountKubeConfig(admin, namespace, 'team');
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

const create = (as: Kube, tenant: ScimTenant) =>
  as.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: tenant.metadata.namespace,
    plural: PLURAL,
    body: tenant,
  });

/** Everything MongoDB knows about organisations, claims and tokens, for before/after comparisons. */
async function mongoState(): Promise<unknown> {
  const db = running.connection;
  const dump = async (name: string) =>
    (await db.collection(name).find({}).sort({ _id: 1 }).toArray()).map((d) => JSON.stringify(d));
  return {
    organisations: await dump('organisations'),
    claims: await dump('organisation_claims'),
    tokens: await dump('tokens'),
  };
}

/** Waits for a Warning Event with this reason about this tenant. */
async function warningEvent(namespace: string, name: string, reason: string): Promise<void> {
  await waitFor(`Warning ${reason} for ${namespace}/${name}`, async () =>
    (await admin.core.listNamespacedEvent({ namespace })).items.some(
      (e) => e.reason === reason && e.type === 'Warning' && e.involvedObject.name === name,
    ),
  );
}

beforeAll(async () => {
  await applyCrd(admin.kc);
  teamA = await freshNamespace(admin.core, 'team-a');
  teamB = await freshNamespace(admin.core, 'team-b');
  asA = await teamIdentity(teamA);
  asB = await teamIdentity(teamB);
  running = await startTestController(admin, {
    namespace: teamA,
    namespaces: [teamA, teamB],
    mongoUri: inject('mongodbUri'),
    redisUrl: inject('redisUrl'),
    database: `teams_${run}`,
    policy: OwnershipPolicy.parse([
      { namespace: teamA, organisationIds: [`a${run}-*`], adopt: true },
      { namespace: teamB, organisationIds: [`b${run}-*`] },
    ]),
  });
  const settings = { displayName: 'Legacy', enabled: true };
  for (const orgId of [scimctlOrgOfA, scimctlOrgOfB])
    await applyOrganisation(running.connection, orgId, settings, running.redis);
  scimctlTokenOfA = (await issueToken(running.connection, running.redis, scimctlOrgOfA)).token;
  scimctlTokenOfB = (await issueToken(running.connection, running.redis, scimctlOrgOfB)).token;

  await create(asA, tenantManifest(teamA, 'main', { organisationId: orgA, displayName: 'Team A' }));
  await waitForReady(admin, teamA, 'main');
});
afterAll(async () => {
  await running?.stop();
});

describe('two teams sharing one controller', () => {
  it("a team's service account can create ScimTenants only in its own namespace", async () => {
    await expect(
      create(asB, tenantManifest(teamA, 'intruder', { organisationId: orgB, displayName: 'B' })),
    ).rejects.toMatchObject({ code: 403 });
  });

  it("team B cannot claim team A's organisation: OrganisationNotAllowed, an Event, and MongoDB untouched", async () => {
    const tokenA = await secretToken(admin, teamA, 'main-scim-token');
    const before = await mongoState();
    await create(asB, tenantManifest(teamB, 'grab', { organisationId: orgA, displayName: 'Taken' }));
    const grab = await waitForReady(admin, teamB, 'grab', 'False', 'OrganisationNotAllowed');
    expect(condition(grab, 'Ready')?.message).toContain(`namespace ${teamB}`);
    expect(condition(grab, 'TokenIssued')).toMatchObject({
      status: 'False',
      reason: 'OrganisationNotAllowed',
    });
    await warningEvent(teamB, 'grab', 'OrganisationNotAllowed');
    expect(await mongoState()).toEqual(before);
    await expect(
      admin.core.readNamespacedSecret({ namespace: teamB, name: 'grab-scim-token' }),
    ).rejects.toMatchObject({ code: 404 });
    expect(await organisationOfToken(running.authenticator, tokenA)).toBe(orgA);

    // Deleting the refused tenant must not disable or revoke anything either.
    await deleteTenantAndWait(asB, teamB, 'grab');
    expect(await mongoState()).toEqual(before);
    expect(await organisationOfToken(running.authenticator, tokenA)).toBe(orgA);
  });

  it('team B cannot take over an organisation created with scimctl without asking to adopt it: AdoptionRequired', async () => {
    const before = await mongoState();
    await create(
      asB,
      tenantManifest(teamB, 'legacy', { organisationId: scimctlOrgOfB, displayName: 'Mine now' }),
    );
    const legacy = await waitForReady(admin, teamB, 'legacy', 'False', 'AdoptionRequired');
    expect(condition(legacy, 'Ready')?.message).toContain('spec.adoptExistingOrganisation');
    await warningEvent(teamB, 'legacy', 'AdoptionRequired');
    expect(await mongoState()).toEqual(before);
    expect(await organisationOfToken(running.authenticator, scimctlTokenOfB)).toBe(scimctlOrgOfB);
  });

  it('team B cannot adopt where the policy forbids adoption: AdoptionNotAllowed', async () => {
    const before = await mongoState();
    await create(
      asB,
      tenantManifest(teamB, 'adopter', {
        organisationId: scimctlOrgOfB,
        displayName: 'Mine now',
        adoptExistingOrganisation: true,
      }),
    );
    await waitForReady(admin, teamB, 'adopter', 'False', 'AdoptionNotAllowed');
    await warningEvent(teamB, 'adopter', 'AdoptionNotAllowed');
    expect(await mongoState()).toEqual(before);
    expect(await organisationOfToken(running.authenticator, scimctlTokenOfB)).toBe(scimctlOrgOfB);
  });

  it('team A, whose policy allows adoption, adopts its scimctl organisation when asked: the old token stops working', async () => {
    await create(
      asA,
      tenantManifest(teamA, 'legacy', {
        organisationId: scimctlOrgOfA,
        displayName: 'Adopted',
        adoptExistingOrganisation: true,
      }),
    );
    await waitForReady(admin, teamA, 'legacy');
    expect(await organisationOfToken(running.authenticator, scimctlTokenOfA)).toBeNull();
    expect(
      await organisationOfToken(running.authenticator, await secretToken(admin, teamA, 'legacy-scim-token')),
    ).toBe(scimctlOrgOfA);
  });

  it('team B cannot use Secrets it did not opt in (nor learn whether they exist): SecretNotOptedIn', async () => {
    // Team A's token Secret exists only in team A's namespace; a reference can only name team B's own namespace.
    await asB.core.createNamespacedSecret({
      namespace: teamB,
      body: {
        metadata: { name: 'database' },
        stringData: { password: 'x'.repeat(40), secret: 'y'.repeat(40) },
      },
    });
    const cases = [
      { name: 'main-scim-token', key: 'token' }, // team A's Secret's name: absent here
      { name: 'database', key: 'password' }, // present, not opted in
    ];
    const messages: string[] = [];
    for (const [i, ref] of cases.entries()) {
      const name = `byo-${i}`;
      await create(
        asB,
        tenantManifest(teamB, name, {
          organisationId: `b${run}-byo${i}`,
          displayName: 'BYO',
          token: { existingSecretRef: ref },
        }),
      );
      const t = await waitForReady(admin, teamB, name, 'False', 'SecretNotOptedIn');
      messages.push(condition(t, 'Ready')!.message.replace(ref.name, '<name>'));
      await warningEvent(teamB, name, 'SecretNotOptedIn');
    }
    expect(messages[0]).toBe(messages[1]);
    for (const [i, name] of ['main-scim-token', 'database'].entries()) {
      const hook = `hook-${i}`;
      await create(
        asB,
        tenantManifest(teamB, hook, {
          organisationId: `b${run}-hook${i}`,
          displayName: 'Hook',
          audit: { webhooks: [{ name: 'siem', url: 'https://siem.example.com/in', secretRef: { name } }] },
        }),
      );
      const t = await waitForReady(admin, teamB, hook, 'False', 'SecretNotOptedIn');
      expect(condition(t, 'SettingsApplied')?.reason).toBe('SecretNotOptedIn');
    }
    // No token was adopted from those Secrets, and neither Secret's value reached MongoDB.
    const after = (await mongoState()) as { organisations: string[]; tokens: string[]; claims: string[] };
    expect(after.tokens.filter((t) => t.includes(`b${run}-byo`))).toEqual([]);
    expect(after.organisations.filter((o) => o.includes(`b${run}-hook`))).toEqual([]);
    const everything = JSON.stringify(after);
    for (const value of ['x'.repeat(40), 'y'.repeat(40)]) expect(everything).not.toContain(value);
  });
});
