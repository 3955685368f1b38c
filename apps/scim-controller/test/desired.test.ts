import { createHash } from 'node:crypto';
import {
  defaultOrganisationSettings,
  parseOrganisationSettings,
  type OAuthClientRecord,
  type TokenRecord,
} from '@scimbridge/tenancy';
import { describe, expect, it } from 'vitest';
import type { ScimTenant, ScimTenantSpec } from '../src/api/scim-tenant.js';
import { setCondition } from '../src/reconcile/conditions.js';
import {
  computeStatus,
  desiredSettings,
  planClient,
  planToken,
  sameStatus,
  type SecretSnapshot,
  type TokenObservation,
} from '../src/reconcile/desired.js';

const hash = (t: string) => createHash('sha256').update(t).digest('hex');
const tenant = (spec: Partial<ScimTenantSpec> = {}, status?: ScimTenant['status']): ScimTenant => ({
  apiVersion: 'scimbridge.io/v1alpha1',
  kind: 'ScimTenant',
  metadata: { name: 't', namespace: 'ns', uid: 'uid-1', generation: 3 },
  spec: { organisationId: 'org', displayName: 'Org', ...spec },
  ...(status ? { status } : {}),
});
const record = (token: string): TokenRecord => ({
  tokenId: token,
  orgId: 'org',
  hash: hash(token),
  fingerprint: hash(token).slice(0, 8),
  issuedAt: new Date(0),
  kind: 'bearer',
  validUntil: null,
  clientId: null,
  grant: null,
  lastUsedAt: null,
  revokedAt: null,
  replaced: false,
});
const managed = (token: string | undefined, extra: Partial<SecretSnapshot> = {}): SecretSnapshot => ({
  name: 't-scim-token',
  exists: true,
  ...(token ? { token } : {}),
  labels: {
    'app.kubernetes.io/managed-by': 'scim-controller',
    'scimbridge.io/tenant': 't',
    'scimbridge.io/use': 'generated-token',
  },
  annotations: { 'scimbridge.io/rotation': '0', 'scimbridge.io/tenant-uid': 'uid-1' },
  // deletionPolicy Retain (the default): no ownerReference.
  ownerUids: [],
  ...extra,
});
const missing: SecretSnapshot = {
  name: 't-scim-token',
  exists: false,
  labels: {},
  annotations: {},
  ownerUids: [],
};
const observe = (t: ScimTenant, secret: SecretSnapshot, tokens: TokenRecord[]): TokenObservation => ({
  tenant: t,
  secret,
  tokens,
  hashToken: hash,
  tokenProblem: (s) => (s.startsWith('scimb_') ? undefined : 'not a token'),
});

describe('planToken (pure)', () => {
  it('issues a token when the Secret is missing, and keeps a matching one', () => {
    expect(planToken(observe(tenant(), missing, []))).toEqual({
      kind: 'issue',
      reason: 'TokenSecretMissing',
    });
    expect(planToken(observe(tenant(), managed('scimb_a'), [record('scimb_a')]))).toMatchObject({
      kind: 'keep',
      writeSecret: false,
    });
  });

  it('rotates when the counter differs from the one the Secret was written for', () => {
    expect(
      planToken(observe(tenant({ token: { rotation: 1 } }), managed('scimb_a'), [record('scimb_a')])),
    ).toEqual({
      kind: 'issue',
      reason: 'RotationRequested',
    });
  });

  it('re-issues when the Secret holds a token MongoDB does not know (tampered or lost)', () => {
    expect(planToken(observe(tenant(), managed('scimb_x'), [record('scimb_a')]))).toEqual({
      kind: 'issue',
      reason: 'TokenNotRecognised',
    });
  });

  it('revokes extra tokens by re-adopting the Secret token as the only valid one', () => {
    expect(
      planToken(observe(tenant(), managed('scimb_a'), [record('scimb_a'), record('scimb_b')])),
    ).toMatchObject({ kind: 'adopt', token: 'scimb_a' });
  });

  it('takes over a Secret retained from a deleted tenant of the same name without rotating', () => {
    const retained = managed('scimb_a', {
      annotations: { 'scimbridge.io/rotation': '4', 'scimbridge.io/tenant-uid': 'uid-of-the-deleted-one' },
    });
    expect(planToken(observe(tenant(), retained, [record('scimb_a')]))).toMatchObject({
      kind: 'keep',
      writeSecret: true,
    });
  });

  it('repairs the labels of its own Secret (owned by this tenant) instead of treating it as foreign', () => {
    const unlabelled = { ...managed('scimb_a'), labels: {} };
    expect(planToken(observe(tenant(), unlabelled, [record('scimb_a')]))).toMatchObject({
      kind: 'keep',
      writeSecret: true,
    });
  });

  it('puts a blocking ownerReference on the Secret only with deletionPolicy Delete, and removes it under Retain', () => {
    const remove = tenant({ token: { deletionPolicy: 'Delete' } });
    expect(planToken(observe(remove, managed('scimb_a'), [record('scimb_a')]))).toMatchObject({
      kind: 'keep',
      writeSecret: true,
    });
    expect(
      planToken(observe(remove, managed('scimb_a', { ownerUids: ['uid-1'] }), [record('scimb_a')])),
    ).toMatchObject({ kind: 'keep', writeSecret: false });
    // Written before Retain Secrets had no owner: rewritten without it, so no cascade mode can delete it.
    expect(
      planToken(observe(tenant(), managed('scimb_a', { ownerUids: ['uid-1'] }), [record('scimb_a')])),
    ).toMatchObject({ kind: 'keep', writeSecret: true });
  });

  it('refuses to overwrite a Secret it does not manage', () => {
    const foreign = { ...managed('whatever'), labels: {}, annotations: {}, ownerUids: [] };
    expect(planToken(observe(tenant(), foreign, []))).toMatchObject({
      kind: 'blocked',
      reason: 'TokenSecretConflict',
    });
  });

  it('revokes everything when revoked, deleting only a generated Secret', () => {
    expect(
      planToken(observe(tenant({ token: { revoked: true } }), managed('scimb_a'), [record('scimb_a')])),
    ).toEqual({ kind: 'revoke', deleteSecret: true });
    const byo = tenant({ token: { revoked: true, existingSecretRef: { name: 'mine' } } });
    expect(planToken(observe(byo, managed('scimb_a'), [record('scimb_a')]))).toEqual({
      kind: 'revoke',
      deleteSecret: false,
    });
  });

  it('adopts a user-supplied token that opted in, and explains a key or malformed token', () => {
    const byo = tenant({ token: { existingSecretRef: { name: 'mine', key: 'value' } } });
    const user = {
      ...missing,
      name: 'mine',
      exists: true,
      token: 'scimb_u',
      labels: { 'scimbridge.io/use': 'token' },
    };
    expect(planToken(observe(byo, user, [record('scimb_old')]))).toEqual({
      kind: 'adopt',
      token: 'scimb_u',
      writeSecret: false,
    });
    expect(planToken(observe(byo, user, [record('scimb_u')]))).toMatchObject({ kind: 'keep' });
    // Missing, not labelled, or labelled for another use: one answer, which does not say whether it exists.
    const refusals = [
      { ...missing, name: 'mine' },
      { ...user, labels: {} },
      { ...user, labels: { 'scimbridge.io/use': 'webhook-key' } },
      { ...user, labels: { 'scimbridge.io/use': 'generated-token' } },
    ].map((secret) => planToken(observe(byo, secret, [])));
    expect(refusals[0]).toMatchObject({ kind: 'blocked', reason: 'SecretNotOptedIn' });
    for (const refusal of refusals) expect(refusal).toEqual(refusals[0]);
    expect(planToken(observe(byo, { ...user, token: undefined }, []))).toMatchObject({
      kind: 'blocked',
      reason: 'TokenSecretKeyMissing',
      message: expect.stringContaining('has no key value'),
    });
    expect(planToken(observe(byo, { ...user, token: 'hunter2' }, []))).toMatchObject({
      kind: 'blocked',
      reason: 'InvalidToken',
    });
  });
});

describe('desiredSettings (pure)', () => {
  it("maps the spec to organisation settings with tenancy's defaults", () => {
    expect(desiredSettings(tenant({ defaultGroup: '' }), new Map())).toEqual({
      displayName: 'Org',
      enabled: true,
      plan: { scimIncluded: true, userLimit: null },
      defaultGroup: null,
      rateLimit: { requestsPerSecond: 50, burst: 100 },
      limits: {
        patchMaxOperations: null,
        maxMemberChanges: null,
        filterMaxTerms: null,
        bulkMaxOperations: null,
        maxResults: null,
      },
      paused: false,
      authentication: {
        bearerToken: { enabled: true },
        clientCredentials: { enabled: false, accessTokenLifetimeSeconds: 3600 },
        federation: null,
      },
      audit: { webhooks: [], eventStreams: [] },
    });
    expect(desiredSettings(tenant(), new Map())).toEqual(defaultOrganisationSettings('Org'));
    expect(desiredSettings(tenant({ rateLimit: { requestsPerSecond: 20 } }), new Map()).rateLimit).toEqual({
      requestsPerSecond: 20,
      burst: 100,
    });
    const full = tenant({
      enabled: false,
      plan: { scimIncluded: false, userLimit: 10 },
      defaultGroup: 'Staff',
      audit: { webhooks: [{ name: 'siem', url: 'https://siem.example.com', secretRef: { name: 's' } }] },
    });
    expect(desiredSettings(full, new Map([['siem', 'hmac']]))).toMatchObject({
      enabled: false,
      plan: { scimIncluded: false, userLimit: 10 },
      defaultGroup: 'Staff',
      audit: { webhooks: [{ name: 'siem', url: 'https://siem.example.com', secret: 'hmac' }] },
    });
    const streams = tenant({
      audit: {
        eventStreams: [
          {
            name: 'siem',
            url: 'https://siem.example.com/set',
            audience: 'aud',
            authorizationSecretRef: { name: 'a' },
          },
          { name: 'plain', url: 'https://plain.example.com/set', audience: 'plain' },
        ],
      },
    });
    expect(desiredSettings(streams, new Map(), new Map([['siem', 'Bearer x']])).audit.eventStreams).toEqual([
      { name: 'siem', url: 'https://siem.example.com/set', audience: 'aud', authorization: 'Bearer x' },
      { name: 'plain', url: 'https://plain.example.com/set', audience: 'plain', authorization: null },
    ]);
  });

  it('keeps the client Secret fields and token fields out of the settings', () => {
    const federation = {
      issuer: 'https://login.example.com/t/v2.0',
      subject: 'sub',
      audience: 'api://app',
      jwksUrl: 'https://login.example.com/keys',
    };
    const withOauth = tenant({
      paused: true,
      token: { rotation: 2, previousTokenValidForSeconds: 60 },
      authentication: {
        bearerToken: { enabled: false },
        clientCredentials: {
          enabled: true,
          accessTokenLifetimeSeconds: 600,
          secretName: 'c',
          rotation: 3,
          previousSecretValidForSeconds: 60,
        },
        federation,
      },
    });
    const settings = desiredSettings(withOauth, new Map());
    expect(settings.paused).toBe(true);
    expect(settings.authentication).toEqual({
      bearerToken: { enabled: false },
      clientCredentials: { enabled: true, accessTokenLifetimeSeconds: 600 },
      federation,
    });
    // What scimctl apply stores for the same spec (tenancy's schema, which strips unknown keys).
    const { organisationId: _id, token: _token, ...spec } = withOauth.spec;
    expect(settings).toEqual(parseOrganisationSettings(spec));
    expect(JSON.stringify(settings)).not.toMatch(/secretName|rotation|previous/);
  });
});

describe('computeStatus (pure)', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ok = {
    settings: { applied: true as const },
    token: { issued: true as const, record: record('scimb_a'), secretName: 's' },
    counts: { users: 2, groups: 1 },
  };

  it('is Ready with observedGeneration when settings and token are in place', () => {
    const status = computeStatus(tenant(), ok, { now, scimBaseUrl: 'https://scim.example.com/scim/v2' });
    expect(status).toMatchObject({
      observedGeneration: 3,
      users: 2,
      groups: 1,
      secretName: 's',
      scimBaseUrl: 'https://scim.example.com/scim/v2',
    });
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'True', 'ProvisioningReady', 3],
      ['SettingsApplied', 'True', 'SettingsApplied', 3],
      ['TokenIssued', 'True', 'TokenIssued', 3],
    ]);
  });

  it('explains the first problem in Ready: default group, then disabled, then plan', () => {
    const group = computeStatus(
      tenant(),
      { ...ok, settings: { applied: true, defaultGroupMissing: 'Staff' } },
      { now },
    );
    expect(group.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'DefaultGroupNotFound',
    });
    expect(computeStatus(tenant({ enabled: false }), ok, { now }).conditions?.[0]?.reason).toBe(
      'ProvisioningDisabled',
    );
    expect(
      computeStatus(tenant({ plan: { scimIncluded: false } }), ok, { now }).conditions?.[0]?.reason,
    ).toBe('ScimNotInPlan');
  });

  it('marks MongoDB unreachable without forgetting what was known', () => {
    const before = computeStatus(tenant(), ok, { now });
    const down = computeStatus(
      tenant({}, before),
      { unavailable: { dependency: 'MongoDB', message: 'MongoDB unreachable: x' } },
      { now },
    );
    expect(down.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'MongoUnreachable'],
      ['SettingsApplied', 'Unknown', 'MongoUnreachable'],
      ['TokenIssued', 'Unknown', 'MongoUnreachable'],
    ]);
    expect(down.tokenFingerprint).toBe(before.tokenFingerprint);
  });

  it('is stable: the same outcome again yields the same status (no write, no event)', () => {
    const first = computeStatus(tenant(), ok, { now });
    const second = computeStatus(tenant({}, first), ok, { now: new Date('2026-02-01T00:00:00Z') });
    expect(sameStatus(first, second)).toBe(true);
  });
});

describe('setCondition', () => {
  it('moves lastTransitionTime only when the status flips', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const t1 = new Date('2026-01-02T00:00:00Z');
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(b[0]).toMatchObject({ reason: 'B', observedGeneration: 2, lastTransitionTime: t0.toISOString() });
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 2, t1);
    expect(c[0]!.lastTransitionTime).toBe(t1.toISOString());
  });
});

describe('planClient (pure)', () => {
  const client = (id: string, secrets: number): OAuthClientRecord => ({
    clientId: id,
    orgId: 'org',
    createdAt: new Date(0),
    managedBy: 'scim-controller',
    secrets: Array.from({ length: secrets }, (_, i) => ({
      secretId: `${id}-${i}`,
      clientId: id,
      fingerprint: `f${i}`,
      createdAt: new Date(0),
      expiresAt: null,
      lastUsedAt: null,
    })),
  });
  const cc = (extra: object = {}) => ({ authentication: { clientCredentials: { enabled: true, ...extra } } });
  const clientSecret = (clientId: string, extra: Partial<SecretSnapshot> = {}): SecretSnapshot =>
    managed('scimcs_x', {
      name: 't-scim-client',
      values: { client_id: clientId, client_secret: 'scimcs_x' },
      labels: {
        'app.kubernetes.io/managed-by': 'scim-controller',
        'scimbridge.io/tenant': 't',
        'scimbridge.io/use': 'generated-client',
      },
      ...extra,
    });
  const missingClientSecret = { ...missing, name: 't-scim-client' };

  it('creates one client with a secret for client credentials, and none without a mode', () => {
    expect(
      planClient({ tenant: tenant(cc()), secret: missingClientSecret, clients: [], secretLive: false }),
    ).toEqual({
      revoke: [],
      client: { kind: 'create' },
      secret: { kind: 'mint', reason: 'ClientSecretMissing' },
    });
    expect(
      planClient({
        tenant: tenant(),
        secret: clientSecret('c1'),
        clients: [client('c1', 1)],
        secretLive: true,
      }),
    ).toEqual({ revoke: ['c1'], client: { kind: 'none' }, secret: { kind: 'none', deleteSecret: true } });
  });

  it('keeps the oldest managed client, revokes the extras, and keeps a recognised secret', () => {
    const plan = planClient({
      tenant: tenant(cc()),
      secret: clientSecret('c1'),
      clients: [client('c1', 1), client('c2', 1)],
      secretLive: true,
    });
    expect(plan).toMatchObject({
      revoke: ['c2'],
      client: { kind: 'keep' },
      secret: { kind: 'keep', writeSecret: false },
    });
  });

  it('mints on a rotation bump, and when the Secret holds a secret tenancy does not know', () => {
    const clients = [client('c1', 1)];
    expect(
      planClient({
        tenant: tenant(cc({ rotation: 1 })),
        secret: clientSecret('c1'),
        clients,
        secretLive: true,
      }).secret,
    ).toEqual({ kind: 'mint', reason: 'RotationRequested' });
    expect(
      planClient({ tenant: tenant(cc()), secret: clientSecret('c1'), clients, secretLive: false }).secret,
    ).toEqual({ kind: 'mint', reason: 'ClientSecretNotRecognised' });
    expect(
      planClient({ tenant: tenant(cc()), secret: clientSecret('other'), clients, secretLive: false }).secret,
    ).toEqual({ kind: 'mint', reason: 'ClientSecretNotRecognised' });
  });

  it("refuses a Secret it does not manage, including the tenant's own token Secret", () => {
    const tokenSecret = managed('scimb_a', { name: 't-scim-client' });
    const plan = planClient({ tenant: tenant(cc()), secret: tokenSecret, clients: [], secretLive: false });
    expect(plan).toMatchObject({
      client: { kind: 'none' },
      secret: { kind: 'blocked', reason: 'ClientSecretConflict' },
    });
  });

  it('keeps a secret-less client for federation alone and drops the client Secret', () => {
    const federation = { issuer: 'https://i', subject: 's', audience: 'a', jwksUrl: 'https://i/keys' };
    expect(
      planClient({
        tenant: tenant({ authentication: { federation } }),
        secret: missingClientSecret,
        clients: [],
        secretLive: false,
      }),
    ).toEqual({ revoke: [], client: { kind: 'create' }, secret: { kind: 'none', deleteSecret: false } });
    expect(
      planClient({
        tenant: tenant({ authentication: { federation, clientCredentials: { enabled: false } } }),
        secret: clientSecret('c1'),
        clients: [client('c1', 1)],
        secretLive: true,
      }),
    ).toMatchObject({ revoke: [], client: { kind: 'keep' }, secret: { kind: 'none', deleteSecret: true } });
  });
});

describe('computeStatus with OAuth, grace and pause (pure)', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const base = {
    settings: { applied: true as const },
    token: { issued: true as const, record: record('scimb_a'), secretName: 's' },
  };
  const oauthClient: OAuthClientRecord = {
    clientId: 'scimc_1',
    orgId: 'org',
    createdAt: now,
    managedBy: 'scim-controller',
    secrets: [
      {
        secretId: 'a',
        clientId: 'scimc_1',
        fingerprint: 'aaaa',
        createdAt: now,
        expiresAt: now,
        lastUsedAt: null,
      },
      {
        secretId: 'b',
        clientId: 'scimc_1',
        fingerprint: 'bbbb',
        createdAt: now,
        expiresAt: null,
        lastUsedAt: now,
      },
    ],
  };

  it('shows the client, its secrets without values, the token endpoint and previousTokenValidUntil', () => {
    const t = tenant({ authentication: { clientCredentials: { enabled: true } } });
    const status = computeStatus(
      t,
      {
        ...base,
        token: { ...base.token, previousValidUntil: new Date('2026-01-01T00:01:00Z') },
        client: { state: 'ready', record: oauthClient, secretName: 't-scim-client' },
      },
      { now, scimBaseUrl: 'https://scim.example.com/scim/v2' },
    );
    expect(status.previousTokenValidUntil).toBe('2026-01-01T00:01:00.000Z');
    expect(status.oauth).toEqual({
      clientId: 'scimc_1',
      secrets: [
        { fingerprint: 'aaaa', createdAt: now.toISOString(), expiresAt: now.toISOString() },
        { fingerprint: 'bbbb', createdAt: now.toISOString(), lastUsedAt: now.toISOString() },
      ],
      secretName: 't-scim-client',
      tokenEndpointPath: '/oauth/token',
      tokenEndpoint: 'https://scim.example.com/oauth/token',
    });
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'True'],
      ['SettingsApplied', 'True'],
      ['TokenIssued', 'True'],
      ['OAuthClientReady', 'True'],
    ]);
    // Off again: the client, its condition and the grace end leave status.
    const off = computeStatus(tenant({}, status), { ...base, client: { state: 'none' } }, { now });
    expect(off.oauth).toBeUndefined();
    expect(off.previousTokenValidUntil).toBeUndefined();
    expect(off.conditions?.map((c) => c.type)).toEqual(['Ready', 'SettingsApplied', 'TokenIssued']);
  });

  it('is not Ready while paused, nor with every mode off; a token problem does not count with bearer off', () => {
    expect(computeStatus(tenant({ paused: true }), base, { now }).conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'ProvisioningPaused',
    });
    expect(
      computeStatus(tenant({ authentication: { bearerToken: { enabled: false } } }), base, { now })
        .conditions?.[0],
    ).toMatchObject({ status: 'False', reason: 'NoAuthenticationMode' });
    const ccOnly = tenant({
      authentication: { bearerToken: { enabled: false }, clientCredentials: { enabled: true } },
    });
    const status = computeStatus(
      ccOnly,
      {
        settings: { applied: true },
        token: { issued: false, reason: 'TokenSecretConflict', message: 'taken' },
        client: { state: 'ready', record: oauthClient, secretName: 'c' },
      },
      { now },
    );
    expect(status.conditions?.[0]).toMatchObject({ status: 'True', reason: 'ProvisioningReady' });
  });
});
