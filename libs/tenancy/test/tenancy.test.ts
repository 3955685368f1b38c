import { freePort } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  TokenAuthenticator,
  TokenInUseError,
  WeakTokenError,
  accessDenial,
  adoptToken,
  applyOrganisation,
  countUsersAndGroups,
  ensureTenancyIndexes,
  getOrganisation,
  groupExists,
  hashToken,
  issueToken,
  listTokens,
  mintToken,
  parseOrganisationSettings,
  defaultOrganisationSettings,
  revokeTokens,
  rotateToken,
  setOrganisationDeleting,
  verifyTokenFormat,
  tokenShapeProblem,
  republishPendingBroadcasts,
  TOKEN_REVOCATION_CHANNEL,
  disableOrganisation,
} from '../src/index.js';

let connection: Connection;
let redis: Redis;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(inject('mongodbUri'), { dbName: `tenancy_${process.pid}` })
    .asPromise();
  redis = new Redis(inject('redisUrl'));
  await ensureTenancyIndexes(connection);
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
  redis.disconnect();
});

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await predicate()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('token format', () => {
  it('mints prefixed tokens whose checksum verifies and rejects a one-character typo', () => {
    const token = mintToken();
    expect(token).toMatch(/^scimb_[0-9A-Za-z]{49}$/);
    expect(verifyTokenFormat(token)).toBe(true);
    const last = token.at(-8)!;
    const typo = token.slice(0, -8) + (last === 'a' ? 'b' : 'a') + token.slice(-7);
    expect(verifyTokenFormat(typo)).toBe(false);
    expect(verifyTokenFormat('Bearer nonsense')).toBe(false);
    expect(new Set(Array.from({ length: 100 }, mintToken)).size).toBe(100);
  });

  it('refuses offline what can never be a token: broken minted ones, short, long or non-ASCII adopted ones', () => {
    const token = mintToken();
    expect(tokenShapeProblem(token)).toBeUndefined();
    expect(tokenShapeProblem('user-supplied-token-0123456789abcdef')).toBeUndefined();
    expect(tokenShapeProblem(token.slice(0, -1))).toMatch(/checksum/);
    expect(tokenShapeProblem('scimb_doesnotexist-but-is-long-enough-to-adopt')).toMatch(/checksum/);
    expect(tokenShapeProblem('short')).toMatch(/shorter than 32/);
    expect(tokenShapeProblem('x'.repeat(513))).toMatch(/longer than 512/);
    expect(tokenShapeProblem(`${'x'.repeat(40)}é`)).toMatch(/visible ASCII/);
  });

  it('hashes as sha256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('organisation settings', () => {
  it('fills defaults for a minimal spec and treats an empty default group as none', () => {
    const settings = parseOrganisationSettings({ displayName: 'Acme', defaultGroup: '' });
    expect(settings).toEqual({
      displayName: 'Acme',
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
  });

  it('fills the defaults of a nested setting left partly out, from the same single statement', () => {
    const settings = parseOrganisationSettings({
      displayName: 'Acme',
      plan: { userLimit: 5 },
      rateLimit: { requestsPerSecond: 20 },
      audit: {},
    });
    const defaults = defaultOrganisationSettings('Acme');
    expect(settings.plan).toEqual({ ...defaults.plan, userLimit: 5 });
    expect(settings.rateLimit).toEqual({ ...defaults.rateLimit, requestsPerSecond: 20 });
    expect(settings.audit).toEqual(defaults.audit);
    // Each parse gets objects of its own: changing one organisation's settings leaves the defaults alone.
    defaults.audit.webhooks.push({ name: 'x', url: 'https://x.example', secret: 's' });
    expect(defaultOrganisationSettings('Acme').audit.webhooks).toEqual([]);
  });

  it('rejects invalid values naming the field', () => {
    expect(() =>
      parseOrganisationSettings({ displayName: 'x', rateLimit: { requestsPerSecond: -1 } }),
    ).toThrow(/requestsPerSecond/);
  });

  it('applies idempotently and reports the access decision', async () => {
    const first = await applyOrganisation(connection, 'org-settings', { displayName: 'One' }, redis);
    const again = await applyOrganisation(connection, 'org-settings', { displayName: 'Two', enabled: false });
    expect(again.createdAt).toEqual(first.createdAt);
    expect(again.settings.displayName).toBe('Two');
    expect(accessDenial(again)).toBe('scim-disabled');
    await applyOrganisation(connection, 'org-settings', {
      displayName: 'Two',
      plan: { scimIncluded: false },
    });
    expect(accessDenial((await getOrganisation(connection, 'org-settings'))!)).toBe('scim-not-in-plan');
    await applyOrganisation(connection, 'org-settings', { displayName: 'Two' });
    await setOrganisationDeleting(connection, 'org-settings', true);
    expect(accessDenial((await getOrganisation(connection, 'org-settings'))!)).toBe('organisation-deleting');
    await applyOrganisation(connection, 'org-settings', { displayName: 'Two' });
    expect(accessDenial((await getOrganisation(connection, 'org-settings'))!)).toBeNull();
    await disableOrganisation(connection, 'org-settings');
    expect((await getOrganisation(connection, 'org-settings'))!.settings.enabled).toBe(false);
  });

  it('rejects organisation ids that could not be part of a job id', async () => {
    await expect(applyOrganisation(connection, 'a:b', { displayName: 'x' })).rejects.toThrow();
  });

  it('counts SCIM-visible users and groups and finds groups case-insensitively', async () => {
    await connection.collection('users').insertMany([
      { _id: 'u1', orgId: 'org-count', scim: { managed: true, deletedAt: null } },
      { _id: 'u2', orgId: 'org-count', scim: { managed: false } },
      { _id: 'u3', orgId: 'org-count', scim: { managed: true, deletedAt: new Date() } },
      { _id: 'u4', orgId: 'org-other', scim: { managed: true } },
    ] as never);
    await connection
      .collection('groups')
      .insertOne({ _id: 'g1', orgId: 'org-count', displayName: 'Staff', displayNameKey: 'staff' } as never);
    expect(await countUsersAndGroups(connection, 'org-count')).toEqual({ users: 1, groups: 1 });
    expect(await groupExists(connection, 'org-count', 'STAFF')).toBe(true);
    expect(await groupExists(connection, 'org-other', 'Staff')).toBe(false);
  });
});

describe('tokens', () => {
  it('stores only the hash, and rotation leaves exactly the new token', async () => {
    const first = await issueToken(connection, redis, 'org-tokens');
    const stored = await connection.collection('tokens').findOne({ _id: first.tokenId } as never);
    expect(JSON.stringify(stored)).not.toContain(first.token);
    expect(stored).toMatchObject({
      hash: hashToken(first.token),
      fingerprint: hashToken(first.token).slice(0, 8),
    });
    const second = await rotateToken(connection, redis, 'org-tokens');
    expect((await listTokens(connection, 'org-tokens')).map((t) => t.tokenId)).toEqual([second.tokenId]);
    expect(await revokeTokens(connection, redis, 'org-tokens')).toEqual([second.tokenId]);
    expect(await listTokens(connection, 'org-tokens')).toEqual([]);
  });

  it('adopts a user-supplied token idempotently and refuses one owned by another organisation', async () => {
    const plaintext = 'user-supplied-token-0123456789abcdef';
    const adopted = await adoptToken(connection, redis, 'org-adopt', plaintext);
    expect((await adoptToken(connection, redis, 'org-adopt', plaintext)).tokenId).toBe(adopted.tokenId);
    await expect(adoptToken(connection, redis, 'org-adopt-2', plaintext)).rejects.toBeInstanceOf(
      TokenInUseError,
    );
    await expect(adoptToken(connection, redis, 'org-adopt', 'short')).rejects.toBeInstanceOf(WeakTokenError);
    // The api would refuse it by shape: adopting it would leave the organisation without a usable token.
    await expect(
      adoptToken(connection, redis, 'org-adopt', 'scimb_not-a-minted-token-0123456789'),
    ).rejects.toBeInstanceOf(WeakTokenError);
  });
});

describe('tokens without Redis', () => {
  it('a rotation with Redis unreachable returns the new token, leaves only it, and its broadcast is published later', async () => {
    await applyOrganisation(connection, 'org-rotate-down', { displayName: 'Down' });
    const old = await issueToken(connection, redis, 'org-rotate-down');
    const down = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 1 });
    down.on('error', () => undefined);
    let fresh;
    try {
      const started = Date.now();
      fresh = await rotateToken(connection, down, 'org-rotate-down');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      down.disconnect();
    }
    expect((await listTokens(connection, 'org-rotate-down')).map((t) => t.tokenId)).toEqual([fresh.tokenId]);
    const pending = connection.collection('pending_broadcasts');
    expect(await pending.countDocuments({ orgId: 'org-rotate-down' })).toBe(1);

    const listener = redis.duplicate();
    const received = new Promise<string>((resolve) =>
      listener.on('message', (_channel, text) => resolve(text)),
    );
    await listener.subscribe(TOKEN_REVOCATION_CHANNEL);
    try {
      expect(await republishPendingBroadcasts(connection, redis, { minAgeMs: 0 })).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(await received)).toEqual({ orgId: 'org-rotate-down', tokenIds: [old.tokenId] });
    } finally {
      listener.disconnect();
    }
    expect(await pending.countDocuments({ orgId: 'org-rotate-down' })).toBe(0);
  });
});

describe('TokenAuthenticator', () => {
  it('a rotated token is refused by every replica within a second, although both had it cached', async () => {
    await applyOrganisation(connection, 'org-auth', { displayName: 'Auth' }, redis);
    const replicas = [new TokenAuthenticator(connection, redis), new TokenAuthenticator(connection, redis)];
    await Promise.all(replicas.map((r) => r.start()));
    try {
      const old = await issueToken(connection, redis, 'org-auth');
      for (const replica of replicas) {
        expect(await replica.authenticate(old.token)).toMatchObject({ ok: true, orgId: 'org-auth' });
      }
      const fresh = await rotateToken(connection, redis, 'org-auth');
      for (const replica of replicas) {
        const elapsed = await until(async () => !(await replica.authenticate(old.token)).ok, 1_000);
        expect(elapsed).toBeLessThan(1_000);
        expect(await replica.authenticate(fresh.token)).toMatchObject({ ok: true, tokenId: fresh.tokenId });
      }
      await applyOrganisation(connection, 'org-auth', { displayName: 'Auth', enabled: false }, redis);
      await until(async () => {
        const result = await replicas[0]!.authenticate(fresh.token);
        return result.ok && result.organisation?.settings.enabled === false;
      }, 1_000);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('keeps lastUsedAt without writing per request', async () => {
    await applyOrganisation(connection, 'org-used', { displayName: 'Used' });
    const issued = await issueToken(connection, redis, 'org-used');
    const authenticator = new TokenAuthenticator(connection, redis, { lastUsedFlushMs: 3_600_000 });
    await authenticator.start();
    for (let i = 0; i < 5; i += 1) await authenticator.authenticate(issued.token);
    expect((await listTokens(connection, 'org-used'))[0]!.lastUsedAt).toBeNull();
    await authenticator.close();
    expect((await listTokens(connection, 'org-used'))[0]!.lastUsedAt).toBeInstanceOf(Date);
  });
});
