import { createHash } from 'node:crypto';
import { defaultOrganisationSettings, type TokenRecord } from '@scimbridge/tenancy';
import { describe, expect, it } from 'vitest';
import type { ScimTenant, ScimTenantSpec } from '../src/api/scim-tenant.js';
import { setCondition } from '../src/reconcile/conditions.js';
import {
  computeStatus,
  desiredSettings,
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
      audit: { webhooks: [] },
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
