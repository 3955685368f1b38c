import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  applyOrganisation,
  createClient,
  issueAccessToken,
  issueToken,
  revokeClient,
  revokeClientSecret,
  rotateClientSecret,
  type OrganisationSettingsInput,
} from '@scimbridge/tenancy';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiProcess, type ApiProcess } from './api-process.js';
import { client, newUser, startHarness, type Harness } from './harness.js';

/**
 * Issue 16: the OAuth 2.0 token endpoint (client credentials with a secret, RFC 6749 §4.4; workload identity
 * federation, RFC 7523 §2.2), expiring access tokens, bearer rotation with an overlap, pause, and what
 * /ServiceProviderConfig says. In-process (fastify.inject) for the protocol, two real api processes for what must
 * hold on every replica (revocation, expiry, grace).
 */

const FORM = 'application/x-www-form-urlencoded';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ISSUER = 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0';
const SUBJECT = 'sync-fabric-object-id';
const AUDIENCE = 'api://b5ba7a93-4452-4522-aeb4-a2b5da870c16';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A local JWKS server with key pairs generated here; `/slow` never answers in time, `/keys` counts fetches. */
class JwksServer {
  server!: Server;
  fetches = 0;
  keys: { kid: string; privateKey: PrivateKey; jwk: JWK }[] = [];
  async addKey(kid: string) {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    this.keys.push({
      kid,
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    });
  }
  async start() {
    this.server = createServer((request, response) => {
      if (request.url === '/slow') return; // held open: the api's fetch timeout must end it
      this.fetches += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }
  url(path = '/keys') {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }
  key(kid: string) {
    return this.keys.find((k) => k.kid === kid)!;
  }
  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

function assertion(
  key: { kid: string; privateKey: PrivateKey },
  claims: { iss?: string; sub?: string; aud?: string; exp?: number; nbf?: number; iat?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setSubject(claims.sub ?? SUBJECT)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt(claims.iat ?? now)
    .setNotBefore(claims.nbf ?? now)
    .setExpirationTime(claims.exp ?? now + 3600)
    .sign(key.privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let h: Harness;
let jwks: JwksServer;

beforeAll(async () => {
  jwks = await new JwksServer().start();
  await jwks.addKey('k1');
  h = await startHarness({
    federation: { fetchTimeoutMs: 500, cooldownMs: 200 },
    addressLimit: { failures: 1_000, windowSeconds: 60 },
  });
});
afterAll(async () => {
  await h?.close();
  await jwks?.close();
});

// Token requests come from an address of their own: their failed authentications count against it (the per-address
// budget in Redis is shared with the suite's other api tests, which use 127.0.0.1).
const ADDRESS = '203.0.113.16';

function tokenRequest(form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: ADDRESS,
    headers: { 'content-type': FORM, ...headers },
    payload: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

async function clientOrganisation(settings: Partial<OrganisationSettingsInput> = {}) {
  const org = await h.organisation({
    authentication: { clientCredentials: { enabled: true } },
    ...settings,
  });
  const { client: c, secret } = await createClient(h.connection, org.orgId);
  return { ...org, clientId: c.clientId, secret: secret!.secret };
}

async function federatedOrganisation(jwksUrl = jwks.url()) {
  const org = await h.organisation({
    authentication: { federation: { issuer: ISSUER, subject: SUBJECT, audience: AUDIENCE, jwksUrl } },
  });
  const { client: c } = await createClient(h.connection, org.orgId, { withSecret: false });
  return { ...org, clientId: c.clientId };
}

const federationForm = (clientId: string, jwt: string) => ({
  grant_type: 'client_credentials',
  client_id: clientId,
  client_assertion_type: JWT_BEARER,
  client_assertion: jwt,
  scope: 'scim',
});

describe('client credentials (RFC 6749 §4.4)', () => {
  it('a secret by HTTP Basic or form fields gets an access token that provisions a user', async () => {
    const org = await clientOrganisation();
    const viaBasic = await tokenRequest(
      { grant_type: 'client_credentials' },
      basic(org.clientId, org.secret),
    );
    expect(viaBasic.statusCode).toBe(200);
    expect(viaBasic.headers['cache-control']).toBe('no-store');
    const body = viaBasic.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const created = await client(h.app, body.access_token).post('/Users', newUser('cc@example.com'));
    expect(created.statusCode).toBe(201);

    const viaForm = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: org.clientId,
      client_secret: org.secret,
      scope: 'scim',
    });
    expect(viaForm.statusCode).toBe(200);
    expect(viaForm.json().scope).toBe('scim');
    expect((await client(h.app, viaForm.json().access_token).get('/Users?count=1')).json().totalResults).toBe(
      1,
    );
  });

  it('refuses what RFC 6749 §5.2 refuses, with its JSON errors and never a SCIM body', async () => {
    const org = await clientOrganisation();
    const wrong = await tokenRequest(
      { grant_type: 'client_credentials' },
      basic(org.clientId, `${org.secret}x`),
    );
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error).toBe('invalid_client');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    expect(wrong.json().schemas).toBeUndefined();
    // A real secret of another client is not this client's.
    const other = await clientOrganisation();
    const crossed = await tokenRequest(
      { grant_type: 'client_credentials' },
      basic(org.clientId, other.secret),
    );
    expect(crossed.json().error).toBe('invalid_client');

    const cases: [Record<string, string> | string, Record<string, string>, number, string][] = [
      [{ grant_type: 'password', username: 'a', password: 'b' }, {}, 400, 'unsupported_grant_type'],
      [{ client_id: org.clientId, client_secret: org.secret }, {}, 400, 'invalid_request'],
      [
        'grant_type=client_credentials&grant_type=client_credentials',
        basic(org.clientId, org.secret),
        400,
        'invalid_request',
      ],
      [{ grant_type: 'client_credentials' }, {}, 401, 'invalid_client'],
      [
        { grant_type: 'client_credentials', client_secret: org.secret },
        basic(org.clientId, org.secret),
        400,
        'invalid_request',
      ],
    ];
    for (const [form, headers, status, error] of cases) {
      const response = await tokenRequest(form, headers);
      expect([response.statusCode, response.json().error]).toEqual([status, error]);
    }
    const json = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      remoteAddress: ADDRESS,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect([json.statusCode, json.json().error]).toEqual([400, 'invalid_request']);
    const huge = await tokenRequest({
      grant_type: 'client_credentials',
      client_assertion: 'x'.repeat(20_000),
    });
    expect([huge.statusCode, huge.json().error]).toEqual([400, 'invalid_request']);
    const get = await h.app.inject({ method: 'GET', url: '/oauth/token' });
    expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST']);
  });

  it('with client credentials turned off the secret gets unauthorized_client and issued tokens stop working', async () => {
    const org = await clientOrganisation();
    const issued = (
      await tokenRequest({ grant_type: 'client_credentials' }, basic(org.clientId, org.secret))
    ).json();
    expect((await client(h.app, issued.access_token).get('/Users')).statusCode).toBe(200);
    await applyOrganisation(h.connection, org.orgId, { displayName: org.orgId }, h.redis);
    const refused = await tokenRequest({ grant_type: 'client_credentials' }, basic(org.clientId, org.secret));
    expect([refused.statusCode, refused.json().error]).toEqual([400, 'unauthorized_client']);
    const scim = await client(h.app, issued.access_token).get('/Users');
    expect(scim.statusCode).toBe(401);
    expect(scim.json().detail).toMatch(/client credentials are turned off/);
  });
});

describe('workload identity federation (RFC 7523 §2.2)', () => {
  it('a correctly signed assertion gets an access token that provisions a user', async () => {
    const org = await federatedOrganisation();
    const response = await tokenRequest(federationForm(org.clientId, await assertion(jwks.key('k1'))));
    expect(response.statusCode).toBe(200);
    const created = await client(h.app, response.json().access_token).post(
      '/Users',
      newUser('wif@example.com'),
    );
    expect(created.statusCode).toBe(201);
  });

  it('refuses a wrong issuer, audience or subject, an expired or not-yet-valid assertion, alg none and HMAC', async () => {
    const org = await federatedOrganisation();
    const k1 = jwks.key('k1');
    const now = Math.floor(Date.now() / 1000);
    const publicJwk = JSON.stringify(k1.jwk);
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setSubject(SUBJECT)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(publicJwk));
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: ISSUER, sub: SUBJECT, aud: AUDIENCE, iat: now, exp: now + 600 })}.`;
    const refused: Record<string, string> = {
      'wrong issuer': await assertion(k1, { iss: 'https://login.microsoftonline.com/other/v2.0' }),
      'wrong audience': await assertion(k1, { aud: 'api://someone-else' }),
      'wrong subject': await assertion(k1, { sub: 'another-workload' }),
      expired: await assertion(k1, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
      'not yet valid': await assertion(k1, { nbf: now + 3600 }),
      'alg none': none,
      'HMAC with the public key': hmac,
      'not a JWT': 'not.a.jwt',
    };
    for (const [name, jwt] of Object.entries(refused)) {
      const response = await tokenRequest(federationForm(org.clientId, jwt));
      expect([name, response.statusCode, response.json().error]).toEqual([name, 401, 'invalid_client']);
    }
    const unknownClient = await tokenRequest(federationForm('scimc_unknown', await assertion(k1)));
    expect([unknownClient.statusCode, unknownClient.json().error]).toEqual([401, 'invalid_client']);
    // A client of an organisation without federation cannot use an assertion.
    const plain = await clientOrganisation();
    const notFederated = await tokenRequest(federationForm(plain.clientId, await assertion(k1)));
    expect([notFederated.statusCode, notFederated.json().error]).toEqual([400, 'unauthorized_client']);
  });

  it('an unknown kid is refused after a JWKS refresh, and a key added by the issuer is picked up', async () => {
    const org = await federatedOrganisation(jwks.url('/keys?rotation'));
    expect(
      (await tokenRequest(federationForm(org.clientId, await assertion(jwks.key('k1'))))).statusCode,
    ).toBe(200);
    const before = jwks.fetches;
    const stranger = { kid: 'k-unknown', privateKey: (await generateKeyPair('RS256')).privateKey };
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the refetch cooldown
    const unknown = await tokenRequest(federationForm(org.clientId, await assertion(stranger)));
    expect([unknown.statusCode, unknown.json().error]).toEqual([401, 'invalid_client']);
    expect(jwks.fetches).toBeGreaterThan(before);
    // The issuer rotates: a new key appears in its JWKS and the next assertion uses it.
    await jwks.addKey('k2');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const rotated = await tokenRequest(federationForm(org.clientId, await assertion(jwks.key('k2'))));
    expect(rotated.statusCode).toBe(200);
  });

  it('a slow or unreachable JWKS costs only its own organisation: 503, and others answer meanwhile', async () => {
    const slow = await federatedOrganisation(jwks.url('/slow'));
    const down = await federatedOrganisation('http://127.0.0.1:1/keys');
    const other = await clientOrganisation();
    const k1 = jwks.key('k1');
    const started = Date.now();
    const pending = tokenRequest(federationForm(slow.clientId, await assertion(k1)));
    const othersStarted = Date.now();
    const [otherToken, otherScim] = await Promise.all([
      tokenRequest({ grant_type: 'client_credentials' }, basic(other.clientId, other.secret)),
      client(h.app, other.token).get('/Users?count=1'),
    ]);
    const othersMs = Date.now() - othersStarted;
    expect([otherToken.statusCode, otherScim.statusCode]).toEqual([200, 200]);
    const slowResponse = await pending;
    const slowMs = Date.now() - started;
    expect([slowResponse.statusCode, slowResponse.json().error]).toEqual([503, 'temporarily_unavailable']);
    expect(slowResponse.headers['retry-after']).toBe('5');
    // The fetch timeout here is 500 ms; the others did not wait for it.
    expect(slowMs).toBeGreaterThanOrEqual(450);
    expect(slowMs).toBeLessThan(3_000);
    expect(othersMs).toBeLessThan(slowMs);
    const downResponse = await tokenRequest(federationForm(down.clientId, await assertion(k1)));
    expect([downResponse.statusCode, downResponse.json().error]).toEqual([503, 'temporarily_unavailable']);
  });
});

describe('pause and /ServiceProviderConfig', () => {
  it('a paused organisation gets 503 + Retry-After; unpaused, its data is untouched', async () => {
    const org = await h.organisation();
    const scim = client(h.app, org.token);
    expect((await scim.post('/Users', newUser('before-pause@example.com'))).statusCode).toBe(201);
    await applyOrganisation(h.connection, org.orgId, { displayName: org.orgId, paused: true }, h.redis);
    for (const response of [
      await scim.get('/Users'),
      await scim.post('/Users', newUser('during@example.com')),
    ]) {
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('60');
      expect(response.json().detail).toMatch(/provisioning is paused/);
    }
    const other = await h.organisation();
    expect((await client(h.app, other.token).get('/Users')).statusCode).toBe(200);
    await applyOrganisation(
      h.connection,
      org.orgId,
      { displayName: org.orgId, rateLimit: { requestsPerSecond: 10_000, burst: 10_000 } },
      h.redis,
    );
    const list = await scim.get('/Users');
    expect(list.statusCode).toBe(200);
    expect(list.json().Resources.map((u: { userName: string }) => u.userName)).toEqual([
      'before-pause@example.com',
    ]);
  });

  it('lists exactly the schemes each organisation has on, and a bearer token is refused where it is off', async () => {
    const bearerOnly = await h.organisation();
    const schemes = async (token: string) =>
      (await client(h.app, token).get('/ServiceProviderConfig')).json().authenticationSchemes as {
        type: string;
        specUri: string;
        description: string;
        primary?: boolean;
      }[];
    expect((await schemes(bearerOnly.token)).map((s) => [s.type, s.primary])).toEqual([
      ['oauthbearertoken', true],
    ]);

    const all = await h.organisation({
      authentication: {
        clientCredentials: { enabled: true },
        federation: { issuer: ISSUER, subject: SUBJECT, audience: AUDIENCE, jwksUrl: jwks.url() },
      },
    });
    const listed = await schemes(all.token);
    expect(listed.map((s) => s.type)).toEqual(['oauthbearertoken', 'oauth2', 'oauth2']);
    expect(listed[1]!.specUri).toMatch(/rfc6749/);
    expect(listed[2]!.specUri).toMatch(/rfc7523/);
    expect(listed[1]!.description).toContain('http://localhost:80/oauth/token');

    const noBearer = await clientOrganisation({
      authentication: { bearerToken: { enabled: false }, clientCredentials: { enabled: true } },
    });
    const refused = await client(h.app, noBearer.token).get('/Users');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().detail).toMatch(/Bearer tokens are turned off/);
    const access = (
      await tokenRequest({ grant_type: 'client_credentials' }, basic(noBearer.clientId, noBearer.secret))
    ).json().access_token as string;
    expect((await schemes(access)).map((s) => [s.type, s.primary])).toEqual([['oauth2', true]]);
  });
});

describe('on every replica: two api processes', () => {
  const dbName = `api_oauth_${randomUUID().slice(0, 8)}`;
  let apis: ApiProcess[] = [];
  let p: Harness;

  beforeAll(async () => {
    p = await startHarness({}, dbName);
    apis = await Promise.all([startApiProcess(dbName), startApiProcess(dbName)]);
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await p?.close();
  });

  const statusOn = async (api: ApiProcess, token: string) =>
    (await fetch(`${api.base}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } })).status;
  const statuses = (token: string) => Promise.all(apis.map((api) => statusOn(api, token)));
  const tokenUrl = (api: ApiProcess) => api.base.replace(/\/scim\/v2$/, '/oauth/token');
  async function accessToken(api: ApiProcess, clientId: string, secret: string) {
    const response = await fetch(tokenUrl(api), {
      method: 'POST',
      headers: { 'content-type': FORM, ...basic(clientId, secret) },
      body: 'grant_type=client_credentials',
    });
    return {
      status: response.status,
      body: (await response.json()) as { access_token?: string; error?: string },
    };
  }
  /** Milliseconds until both processes answer `expected`, or throws after `ms`. */
  async function within(token: string, expected: number, ms: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const now = await statuses(token);
      if (now.every((s) => s === expected)) return Date.now() - start;
      if (Date.now() - start > ms) throw new Error(`after ${ms} ms: ${now.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('two active secrets both work; revoking one stops it at once and its access tokens within 1 s', async () => {
    const org = await p.organisation({ authentication: { clientCredentials: { enabled: true } } });
    const { client: c, secret: first } = await createClient(p.connection, org.orgId);
    const second = await rotateClientSecret(p.connection, p.redis, org.orgId, c.clientId, {
      previous: { keep: true },
    });
    const a = await accessToken(apis[0]!, c.clientId, first!.secret);
    const b = await accessToken(apis[1]!, c.clientId, second.secret);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await statuses(a.body.access_token!)).toEqual([200, 200]);
    expect(await statuses(b.body.access_token!)).toEqual([200, 200]);

    await revokeClientSecret(p.connection, p.redis, org.orgId, c.clientId, first!.fingerprint);
    for (const api of apis)
      expect((await accessToken(api, c.clientId, first!.secret)).body.error).toBe('invalid_client');
    expect(await within(a.body.access_token!, 401, 1_000)).toBeLessThan(1_000);
    // The other secret and its token are untouched.
    expect(await statuses(b.body.access_token!)).toEqual([200, 200]);
    expect((await accessToken(apis[0]!, c.clientId, second.secret)).status).toBe(200);

    await revokeClient(p.connection, p.redis, org.orgId, c.clientId);
    expect(await within(b.body.access_token!, 401, 1_000)).toBeLessThan(1_000);
    expect((await accessToken(apis[1]!, c.clientId, second.secret)).body.error).toBe('invalid_client');
  });

  it('an access token past its lifetime is refused by both processes', async () => {
    const org = await p.organisation({ authentication: { clientCredentials: { enabled: true } } });
    const { client: c } = await createClient(p.connection, org.orgId);
    const short = await issueAccessToken(p.connection, p.redis, {
      orgId: org.orgId,
      clientId: c.clientId,
      secretId: null,
      grant: 'client_secret',
      lifetimeSeconds: 2,
    });
    expect(await statuses(short.token)).toEqual([200, 200]);
    await new Promise((resolve) => setTimeout(resolve, short.expiresAt.getTime() - Date.now() + 50));
    expect(await statuses(short.token)).toEqual([401, 401]);
    const body = (await (
      await fetch(`${apis[0]!.base}/Users`, { headers: { authorization: `Bearer ${short.token}` } })
    ).json()) as { detail: string };
    expect(body.detail).toMatch(/expired/);
  });

  it('a bearer rotation with an overlap keeps the old token valid until the grace ends, then 401 everywhere', async () => {
    const org = await p.organisation();
    expect(await statuses(org.token)).toEqual([200, 200]);
    const graceMs = 2_000;
    const rotatedAt = Date.now();
    const next = await issueToken(p.connection, p.redis, org.orgId, { previousValidForMs: graceMs });
    expect(await statuses(next.token)).toEqual([200, 200]);
    expect(await statuses(org.token)).toEqual([200, 200]);
    await within(org.token, 401, graceMs + 1_500);
    // Refused on both processes, not before the grace ended and within 0.5 s after it.
    const refusedAfterMs = Date.now() - rotatedAt;
    expect(refusedAfterMs).toBeGreaterThanOrEqual(graceMs);
    expect(refusedAfterMs).toBeLessThan(graceMs + 500);
    expect(await statuses(next.token)).toEqual([200, 200]);
  });
});
