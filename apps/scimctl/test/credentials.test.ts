import {
  applyOrganisation,
  authenticateClientSecret,
  getOrganisation,
  issueAccessToken,
  ORGANISATION_CHANGE_CHANNEL,
} from '@scimbridge/tenancy';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useScimctl } from './harness.js';

// OAuth clients, federation, pause and authentication modes through the real CLI (issue 16), on real servers.
const cli = useScimctl();
const { scimctl } = cli;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  for (const orgId of ['oauth', 'fed', 'paused', 'modes', 'grace', 'owned'])
    await applyOrganisation(cli.connection, orgId, { displayName: orgId });
});
afterAll(() => {
  redis.disconnect();
});

const ok = (run: { code: number; err: string[] }) => expect(run.code, run.err.join('\n')).toBe(0);

async function accessToken(
  orgId: string,
  clientId: string,
  secretId: string | null,
  grant: 'client_secret' | 'federation',
) {
  return issueAccessToken(cli.connection, redis, {
    orgId,
    clientId,
    secretId,
    grant,
    lifetimeSeconds: 3_600,
  });
}

const tokenExists = async (tokenId: string) =>
  (await cli.connection.collection('tokens').countDocuments({ _id: tokenId as never })) === 1;

describe('scimctl client', () => {
  it('creates a client, printing its secret once, its fingerprint and the token URL', async () => {
    const human = await scimctl('client', 'create', 'oauth', '--scim-url', 'https://scim.example/scim/v2/');
    ok(human);
    const text = human.out.join('\n');
    expect(text).toMatch(/^client_id {5}scimc_\S+\nclient_secret scimbcs_\S+\nfingerprint /);
    expect(text).toContain('token URL     https://scim.example/oauth/token');
    expect(text).toContain('SCIM URL      https://scim.example/scim/v2');
    expect(text).toMatch(/client credentials are off for oauth/);

    const created = (await scimctl('--json', 'client', 'create', 'oauth', '--expires-in', '30d')).json()[0]!;
    expect(created).toMatchObject({ orgId: 'oauth', clientCredentialsEnabled: false, tokenUrl: null });
    const { clientId, clientSecret } = created as { clientId: string; clientSecret: string };
    expect(Date.parse(created.expiresAt as string) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(await authenticateClientSecret(cli.connection, clientId, clientSecret)).toMatchObject({
      ok: true,
    });
    const stored = await cli.connection.collection('oauth_client_secrets').find({ clientId }).toArray();
    expect(JSON.stringify(stored)).not.toContain(clientSecret);

    const bare = (
      await cli.scimctlWith(
        { SCIM_BASE_URL: 'https://env.example/scim/v2' },
        '--json',
        'client',
        'create',
        'oauth',
        '--no-secret',
      )
    ).json()[0]!;
    expect(bare).toMatchObject({
      clientSecret: null,
      fingerprint: null,
      tokenUrl: 'https://env.example/oauth/token',
    });
    expect((await scimctl('client', 'create', 'oauth', '--no-secret', '--expires-in', '1d')).code).toBe(1);
    expect((await scimctl('client', 'create', 'nobody')).err.join()).toMatch(/not found/);
    expect((await scimctl('client', 'create', 'oauth', '--expires-in', 'soon')).code).not.toBe(0);
  });

  it('lists clients with secret fingerprints and dates, never a secret or a hash', async () => {
    const listed = await scimctl('--json', 'client', 'list', 'oauth');
    ok(listed);
    const clients = listed.json();
    expect(clients).toHaveLength(3);
    expect(clients[1]).toMatchObject({ managedBy: null, activeAccessTokens: 0 });
    const secret = (clients[1]!.secrets as Record<string, unknown>[])[0]!;
    expect(Object.keys(secret).sort()).toEqual([
      'createdAt',
      'expiresAt',
      'fingerprint',
      'lastUsedAt',
      'secretId',
    ]);
    expect(secret.lastUsedAt).not.toBeNull(); // authenticated in the test before
    const text = listed.out.join('\n');
    expect(text).not.toMatch(/scimbcs_|"hash"/);
    const human = (await scimctl('client', 'list', 'oauth')).out.join('\n');
    expect(human).toMatch(/secret \S+ \(\S+\) {2}created \S+ {2}expires \S+ {2}last used/);
    expect(human).toContain('no secret (federation only)');
    expect((await scimctl('client', 'list', 'fed')).out).toEqual(['no OAuth clients in fed']);
    expect((await scimctl('--json', 'client', 'list', 'fed')).out).toEqual([]);
  });

  it('rotates with --previous-valid-for keeping both secrets valid; the default refuses the old one', async () => {
    const first = (await scimctl('--json', 'client', 'create', 'oauth')).json()[0]! as Record<string, string>;
    const { clientId } = first;
    const overlap = await scimctl(
      '--json',
      'client',
      'rotate',
      'oauth',
      clientId!,
      '--previous-valid-for',
      '2h',
    );
    ok(overlap);
    const second = overlap.json()[0]!;
    expect(second.previous).toEqual([
      expect.objectContaining({ fingerprint: first.fingerprint, expiresAt: expect.any(String) }),
    ]);
    const until = Date.parse((second.previous as { expiresAt: string }[])[0]!.expiresAt);
    expect(until - Date.now()).toBeGreaterThan(7_000_000);
    expect(until - Date.now()).toBeLessThanOrEqual(7_200_000);
    for (const secret of [first.clientSecret!, second.clientSecret as string])
      expect(await authenticateClientSecret(cli.connection, clientId!, secret)).toMatchObject({ ok: true });

    const human = await scimctl('client', 'rotate', 'oauth', clientId!);
    ok(human);
    expect(human.out.join('\n')).toMatch(/previous secret\(s\) revoked at once/);
    const third = human.out.join('\n').match(/client_secret (\S+)/)![1]!;
    for (const secret of [first.clientSecret!, second.clientSecret as string])
      expect(await authenticateClientSecret(cli.connection, clientId!, secret)).toMatchObject({ ok: false });
    expect(await authenticateClientSecret(cli.connection, clientId!, third)).toMatchObject({ ok: true });

    const kept = (
      await scimctl('--json', 'client', 'rotate', 'oauth', clientId!, '--keep-previous')
    ).json()[0]!;
    expect(kept.previous).toHaveLength(1);
    expect(await authenticateClientSecret(cli.connection, clientId!, third)).toMatchObject({ ok: true });
    const both = await scimctl(
      'client',
      'rotate',
      'oauth',
      clientId!,
      '--keep-previous',
      '--previous-valid-for',
      '1h',
    );
    expect(both.code).not.toBe(0);
    expect((await scimctl('client', 'rotate', 'oauth', 'scimc_nope')).err.join()).toMatch(/no OAuth client/);
  });

  it('revokes one secret with its access tokens, or the whole client with all of them', async () => {
    const created = (await scimctl('--json', 'client', 'create', 'oauth')).json()[0]! as Record<
      string,
      string
    >;
    const clientId = created.clientId!;
    const second = (
      await scimctl('--json', 'client', 'rotate', 'oauth', clientId, '--keep-previous')
    ).json()[0]!;
    const viaFirst = await accessToken('oauth', clientId, created.secretId!, 'client_secret');
    const viaSecond = await accessToken('oauth', clientId, second.secretId as string, 'client_secret');

    const one = await scimctl(
      '--json',
      'client',
      'revoke',
      'oauth',
      clientId,
      '--secret',
      created.fingerprint!,
    );
    ok(one);
    expect(one.json()[0]).toMatchObject({ accessTokensRevoked: 1 });
    expect(await authenticateClientSecret(cli.connection, clientId, created.clientSecret!)).toMatchObject({
      ok: false,
    });
    expect(await tokenExists(viaFirst.tokenId)).toBe(false);
    expect(await tokenExists(viaSecond.tokenId)).toBe(true);
    expect((await scimctl('client', 'revoke', 'oauth', clientId, '--secret', 'nope')).code).toBe(1);

    const all = await scimctl('client', 'revoke', 'oauth', clientId);
    ok(all);
    expect(all.out.join()).toMatch(/revoked OAuth client \S+ of oauth, its secrets and 1 access token/);
    expect(await tokenExists(viaSecond.tokenId)).toBe(false);
    expect(await cli.connection.collection('tokens').countDocuments({ clientId })).toBe(0);
    expect(
      await authenticateClientSecret(cli.connection, clientId, second.clientSecret as string),
    ).toMatchObject({
      ok: false,
    });
    expect((await scimctl('client', 'revoke', 'oauth', clientId)).err.join()).toMatch(/no OAuth client/);
  });
});

describe('scimctl federation', () => {
  const entra = [
    '--issuer',
    'https://login.microsoftonline.com/tenant-1/v2.0',
    '--subject',
    'object-id-1',
    '--audience',
    'api://app-1',
    '--jwks-url',
    'https://login.microsoftonline.com/tenant-1/discovery/v2.0/keys',
  ];

  it('sets the trust, creating a client without a secret, and publishes the change', async () => {
    const subscriber = redis.duplicate();
    const changes: string[] = [];
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === ORGANISATION_CHANGE_CHANNEL) changes.push(text);
    });
    await subscriber.subscribe(ORGANISATION_CHANGE_CHANNEL);
    try {
      const set = await scimctl('--json', 'federation', 'set', 'fed', ...entra);
      ok(set);
      const result = set.json()[0]!;
      expect(result).toMatchObject({ clientCreated: true, broadcast: 'published', accessTokensRevoked: 0 });
      expect((await getOrganisation(cli.connection, 'fed'))!.settings.authentication.federation).toEqual({
        issuer: 'https://login.microsoftonline.com/tenant-1/v2.0',
        subject: 'object-id-1',
        audience: 'api://app-1',
        jwksUrl: 'https://login.microsoftonline.com/tenant-1/discovery/v2.0/keys',
      });
      const clients = await cli.connection.collection('oauth_clients').find({ orgId: 'fed' }).toArray();
      expect(clients.map((c) => c._id)).toEqual([result.clientId]);
      expect(await cli.connection.collection('oauth_client_secrets').countDocuments({ orgId: 'fed' })).toBe(
        0,
      );
      await expect.poll(() => changes.map((t) => JSON.parse(t) as unknown)).toContainEqual({ orgId: 'fed' });
    } finally {
      subscriber.disconnect();
    }

    const again = await scimctl(
      'federation',
      'set',
      'fed',
      ...entra,
      '--scim-url',
      'https://h.example/scim/v2',
    );
    ok(again);
    expect(again.out.join()).toContain(`client_id     ${await clients0()}`);
    expect(again.out.join()).toContain('token URL     https://h.example/oauth/token');
    expect(await cli.connection.collection('oauth_clients').countDocuments({ orgId: 'fed' })).toBe(1);

    const shown = (await scimctl('--json', 'federation', 'show', 'fed')).json()[0]!;
    expect(shown).toMatchObject({ federation: { subject: 'object-id-1' }, clientIds: [await clients0()] });
  });

  async function clients0() {
    return (await cli.connection.collection('oauth_clients').findOne({ orgId: 'fed' }))!
      ._id as unknown as string;
  }

  it('refuses an invalid trust and leaves the settings as they were', async () => {
    const before = (await getOrganisation(cli.connection, 'fed'))!.settings;
    const bad = await scimctl('federation', 'set', 'fed', ...entra.slice(0, 6), '--jwks-url', 'not a url');
    expect(bad.code).toBe(1);
    expect(bad.err.join()).toMatch(/invalid settings[\s\S]*jwksUrl/);
    expect((await scimctl('federation', 'set', 'fed', '--issuer', 'x')).code).not.toBe(0);
    expect((await getOrganisation(cli.connection, 'fed'))!.settings).toEqual(before);
  });

  it('a changed trust revokes the federated access tokens of the old one; clear revokes them too', async () => {
    const clientId = await clients0();
    const old = await accessToken('fed', clientId, null, 'federation');
    const changed = await scimctl(
      '--json',
      'federation',
      'set',
      'fed',
      ...entra.slice(0, 3),
      'object-id-2',
      ...entra.slice(4),
    );
    ok(changed);
    expect(changed.json()[0]).toMatchObject({ clientCreated: false, accessTokensRevoked: 1 });
    expect(await tokenExists(old.tokenId)).toBe(false);

    const federated = await accessToken('fed', clientId, null, 'federation');
    const bySecret = await accessToken('fed', clientId, null, 'client_secret');
    const cleared = await scimctl('--json', 'federation', 'clear', 'fed');
    ok(cleared);
    expect(cleared.json()[0]).toMatchObject({ federation: null, accessTokensRevoked: 1 });
    expect((await getOrganisation(cli.connection, 'fed'))!.settings.authentication.federation).toBeNull();
    expect(await tokenExists(federated.tokenId)).toBe(false);
    expect(await tokenExists(bySecret.tokenId)).toBe(true);
    expect((await scimctl('federation', 'show', 'fed')).out.join()).toMatch(/federation {4}off/);
  });
});

describe('scimctl pause, resume and auth', () => {
  it('pauses and resumes, and show says so', async () => {
    const paused = await scimctl('--json', 'pause', 'paused');
    ok(paused);
    expect(paused.json()[0]).toMatchObject({ paused: true, changed: true, broadcast: 'published' });
    expect((await getOrganisation(cli.connection, 'paused'))!.settings.paused).toBe(true);
    expect((await scimctl('show', 'paused')).out.join()).toMatch(/paused {8}yes/);
    expect((await scimctl('--json', 'pause', 'paused')).json()[0]).toMatchObject({ changed: false });
    const resumed = await scimctl('resume', 'paused');
    ok(resumed);
    expect(resumed.out.join()).toMatch(/paused resumed/);
    expect((await getOrganisation(cli.connection, 'paused'))!.settings.paused).toBe(false);
    expect((await scimctl('pause', 'nobody')).err.join()).toMatch(/not found/);
  });

  it('switches authentication modes and the access-token lifetime', async () => {
    const on = await scimctl(
      '--json',
      'auth',
      'modes',
      '--client-credentials',
      'on',
      '--access-token-lifetime',
      '2h',
    );
    ok(on);
    expect((await getOrganisation(cli.connection, 'modes'))!.settings.authentication).toMatchObject({
      bearerToken: { enabled: true },
      clientCredentials: { enabled: true, accessTokenLifetimeSeconds: 7_200 },
    });
    const { clientId } = (await scimctl('--json', 'client', 'create', 'modes')).json()[0]! as Record<
      string,
      string
    >;
    const issued = await accessToken('modes', clientId!, null, 'client_secret');
    const off = await scimctl('auth', 'modes', '--client-credentials', 'off', '--bearer', 'off');
    ok(off);
    expect(off.out.join('\n')).toMatch(
      /1 client-credentials access token\(s\) revoked[\s\S]*every mode is off/,
    );
    expect(await tokenExists(issued.tokenId)).toBe(false);
    expect((await getOrganisation(cli.connection, 'modes'))!.settings.authentication).toMatchObject({
      bearerToken: { enabled: false },
      clientCredentials: { enabled: false, accessTokenLifetimeSeconds: 7_200 },
    });
    expect((await scimctl('show', 'modes')).out.join()).toMatch(
      /auth {10}bearer token off, client credentials off/,
    );
    for (const bad of [
      ['--access-token-lifetime', '1m'],
      ['--access-token-lifetime', '7h'],
      ['--bearer', 'maybe'],
      [],
    ]) {
      const refused = await scimctl('auth', 'modes', ...bad);
      expect(refused.code, bad.join(' ')).not.toBe(0);
    }
  });
});

describe('scimctl token rotate --previous-valid-for', () => {
  it('keeps the previous bearer token valid for the overlap, and show prints until when', async () => {
    const first = (await scimctl('--json', 'token', 'issue', 'grace')).json()[0]!;
    const rotated = await scimctl('token', 'rotate', 'grace', '--previous-valid-for', '1h');
    ok(rotated);
    expect(rotated.out.join('\n')).toMatch(/previous token stays valid for 1h, until \S+Z/);
    const tokens = await cli.connection.collection('tokens').find({ orgId: 'grace' }).toArray();
    expect(tokens).toHaveLength(2);
    const old = tokens.find((t) => t._id === (first.tokenId as never))!;
    expect((old.validUntil as Date).getTime() - Date.now()).toBeGreaterThan(3_500_000);
    const shown = (await scimctl('--json', 'show', 'grace')).json()[0]!;
    expect(shown.previousTokens).toEqual([expect.objectContaining({ tokenId: first.tokenId })]);
    expect(shown.tokens).toHaveLength(1);
    expect((await scimctl('show', 'grace')).out.join()).toMatch(/previous {6}\S+ still valid until/);
    const plain = await scimctl('--json', 'token', 'rotate', 'grace');
    expect(plain.json()[0]).toMatchObject({ previousValidUntil: null });
  });
});

describe('an organisation a ScimTenant manages', () => {
  it('refuses every credential and settings command, naming the spec field; reading is allowed', async () => {
    const { clientId } = (await scimctl('--json', 'client', 'create', 'owned')).json()[0]! as Record<
      string,
      string
    >;
    await cli.connection.collection('organisation_claims').insertOne({
      _id: 'owned' as never,
      uid: 'uid-owned',
      namespace: 'team-b',
      name: 'owned',
      claimedAt: new Date(),
    });
    const before = await getOrganisation(cli.connection, 'owned');
    const fed = [
      '--issuer',
      'i',
      '--subject',
      's',
      '--audience',
      'a',
      '--jwks-url',
      'https://k.example/keys',
    ];
    for (const [args, field] of [
      [['client', 'create', 'owned'], 'spec.authentication.clientCredentials'],
      [['client', 'rotate', 'owned', clientId!], 'spec.authentication.clientCredentials.rotation'],
      [['client', 'revoke', 'owned', clientId!], 'spec.authentication.clientCredentials'],
      [['federation', 'set', 'owned', ...fed], 'spec.authentication.federation'],
      [['federation', 'clear', 'owned'], 'spec.authentication.federation'],
      [['pause', 'owned'], 'spec.paused'],
      [['resume', 'owned'], 'spec.paused'],
      [['auth', 'owned', '--bearer', 'off'], 'spec.authentication'],
      [['token', 'rotate', 'owned', '--previous-valid-for', '1h'], 'spec.token.previousTokenValidForSeconds'],
    ] as const) {
      const refused = await scimctl(...args);
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.err.join(''), args.join(' ')).toContain(
        'managed by ScimTenant team-b/owned; change ' + field,
      );
    }
    expect(await getOrganisation(cli.connection, 'owned')).toEqual(before);
    expect(await cli.connection.collection('oauth_clients').countDocuments({ orgId: 'owned' })).toBe(1);
    ok(await scimctl('client', 'list', 'owned'));
    ok(await scimctl('federation', 'show', 'owned'));
    const forced = await scimctl('--json', 'pause', 'owned', '--force');
    ok(forced);
    expect((await getOrganisation(cli.connection, 'owned'))!.settings.paused).toBe(true);
  });
});
