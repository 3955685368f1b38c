import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '@scimbridge/store';
import { applyOrganisation, hashToken, verifyTokenFormat } from '@scimbridge/tenancy';
import { freePort } from '@scimbridge/testing';
import type { Connection } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { useScimctl } from './harness.js';

const cli = useScimctl();
const { scimctl } = cli;
let connection: Connection;
let uri: string;
let dir: string;

beforeAll(async () => {
  ({ connection, uri } = cli);
  dir = await mkdtemp(join(tmpdir(), 'scimctl-'));
});

async function scimctlWith(redisUrl: string, ...args: string[]) {
  return cli.scimctlWith({ REDIS_URL: redisUrl }, ...args);
}

describe('scimctl without Redis', () => {
  it('rotates and revokes tokens, the broadcast left pending in the outbox', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    await applyOrganisation(connection, 'no-redis', { displayName: 'No Redis' });
    const issued = await scimctlWith(deadRedis, '--json', 'token', 'issue', 'no-redis');
    expect(issued.code, issued.err.join()).toBe(0);
    const rotated = await scimctlWith(deadRedis, '--json', 'token', 'rotate', 'no-redis');
    expect(rotated.code, rotated.err.join()).toBe(0);
    const fresh = rotated.json()[0]!;
    expect(fresh).toMatchObject({ broadcast: 'pending' });
    expect(verifyTokenFormat(fresh.token as string)).toBe(true);
    // The rotated-away token stays, marked revoked, for the request log's attribution (until the next rotation).
    const tokens = await connection
      .collection('tokens')
      .find({ orgId: 'no-redis', revokedAt: null })
      .toArray();
    expect(tokens.map((t) => t.hash)).toEqual([hashToken(fresh.token as string)]);

    const started = Date.now();
    const revoked = await scimctlWith(deadRedis, 'token', 'revoke', 'no-redis');
    expect(revoked.code, revoked.err.join()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(revoked.out.join('\n')).toMatch(/revoked 1 token\(s\) of no-redis[\s\S]*broadcast is pending/);
    expect(await connection.collection('tokens').countDocuments({ orgId: 'no-redis', revokedAt: null })).toBe(
      0,
    );
    const pending = await connection
      .collection('pending_broadcasts')
      .find({ orgId: 'no-redis', channel: 'scimbridge:tokens:revoked' })
      .toArray();
    expect(pending).toHaveLength(2);
  });
});

describe('scimctl', () => {
  it('applies a ScimTenant manifest and shows the settings', async () => {
    const file = join(dir, 'tenant.yaml');
    await writeFile(
      file,
      [
        'apiVersion: scimbridge.io/v1alpha1',
        'kind: ScimTenant',
        'metadata: { name: acme }',
        'spec:',
        '  organisationId: acme',
        '  displayName: Acme Ltd',
        '  plan: { scimIncluded: true, userLimit: 50 }',
        '  defaultGroup: All Staff',
        '  token: { rotation: 1 }',
        '  paused: true',
        '  authentication:',
        '    clientCredentials: { enabled: true, accessTokenLifetimeSeconds: 1800, rotation: 2 }',
        '  audit: { webhooks: [{ name: siem, url: "https://siem.example/hook", secret: s3cret }] }',
      ].join('\n'),
    );
    const applied = await scimctl('--json', 'apply', '-f', file);
    expect(applied.code, applied.err.join()).toBe(0);
    expect(applied.json()[0]).toMatchObject({
      orgId: 'acme',
      ignored: ['token', 'authentication.clientCredentials.rotation'],
      settings: {
        plan: { userLimit: 50 },
        defaultGroup: 'All Staff',
        paused: true,
        authentication: {
          bearerToken: { enabled: true },
          clientCredentials: { enabled: true, accessTokenLifetimeSeconds: 1800 },
          federation: null,
        },
      },
    });
    const shown = await scimctl('--json', 'show', 'acme');
    expect(shown.json()[0]).toMatchObject({
      orgId: 'acme',
      settings: { displayName: 'Acme Ltd', audit: { webhooks: [{ name: 'siem', secret: '***' }] } },
      counts: { users: 0, groups: 0 },
      tokens: [],
    });
    const human = await scimctl('show', 'acme');
    expect(human.out.join('\n')).toMatch(/default group All Staff/);
  });

  it('refuses a webhook secretRef with a message saying what to do', async () => {
    const file = join(dir, 'ref.json');
    await writeFile(
      file,
      JSON.stringify({
        organisationId: 'ref',
        displayName: 'Ref',
        audit: { webhooks: [{ name: 'x', url: 'https://x.example', secretRef: { name: 'a', key: 'b' } }] },
      }),
    );
    const result = await scimctl('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.err.join()).toMatch(/give the HMAC secret inline/);
  });

  it('issues, rotates and revokes tokens, printing each plaintext once and storing only its hash', async () => {
    const issued = (await scimctl('--json', 'token', 'issue', 'acme')).json()[0]!;
    expect(verifyTokenFormat(issued.token as string)).toBe(true);
    const stored = await connection.collection('tokens').find({ orgId: 'acme' }).toArray();
    expect(stored.map((t) => t.hash)).toEqual([hashToken(issued.token as string)]);
    expect(JSON.stringify(stored)).not.toContain(issued.token);
    const rotated = await scimctl('token', 'rotate', 'acme');
    expect(rotated.out[0]).toMatch(/^scimb_/);
    expect(await connection.collection('tokens').countDocuments({ orgId: 'acme', revokedAt: null })).toBe(1);
    const shown = (await scimctl('--json', 'show', 'acme')).json()[0]!;
    expect(JSON.stringify(shown)).not.toContain(rotated.out[0]);
    expect((await scimctl('--json', 'token', 'revoke', 'acme')).json()[0]!.revoked).toHaveLength(1);
    expect(await connection.collection('tokens').countDocuments({ orgId: 'acme', revokedAt: null })).toBe(0);
    expect((await scimctl('token', 'issue', 'nobody')).err.join()).toMatch(/not found/);
  });

  it('creates a pre-existing account and tails the audit log', async () => {
    const created = (
      await scimctl(
        '--json',
        'account',
        'create',
        'acme',
        '--user-name',
        'ann@acme.example',
        '--email',
        'ann@acme.example',
        '--password-hash',
        'x',
      )
    ).json()[0]!;
    expect(await connection.collection('users').findOne({ _id: created.id as never })).toMatchObject({
      scim: { managed: false },
      auth: { ssoOnly: false },
    });
    const log = new AuditLog(connection);
    await log.record({
      orgId: 'acme',
      action: 'user.created',
      actor: { type: 'token', id: 't' },
      resourceType: 'User',
      resourceId: 'u1',
      changedAttributes: ['userName'],
    });
    const tail = await scimctl('audit', 'tail', 'acme', '-n', '5');
    expect(tail.out.join('\n')).toMatch(/user\.created User u1 \[userName\] by token:t/);
  });

  it('mounts the dead-letter command under audit, handing it the global options', async () => {
    const eventId = randomUUID();
    await connection.collection('audit_dead_letters').insertOne({
      _id: `${eventId}:siem` as never,
      orgId: 'acme',
      eventId,
      sink: 'siem',
      status: 'dead',
      reason: 'http_5xx',
      lastStatusCode: 503,
      lastError: 'the receiver answered with a server error',
      attempts: 12,
      deadLetteredAt: new Date(),
      redriveCount: 0,
      redrivenAt: null,
      resolvedAt: null,
    });
    const out: string[] = [];
    const err: string[] = [];
    // No MONGODB_URI in the environment: --mongodb-uri must reach the command, and --json its list.
    const code = await runCli(
      ['--json', '--mongodb-uri', uri, 'audit', 'dead-letters', 'list', '--org', 'acme'],
      {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        env: {},
      },
    );
    expect(code, err.join()).toBe(0);
    expect(out.map((line) => (JSON.parse(line) as { _id: string })._id)).toEqual([`${eventId}:siem`]);
    expect((await scimctl('audit', 'dead-letters')).out.join()).toMatch(/usage: audit dead-letters list/);
    expect((await scimctl('audit', 'dead-letters', 'redrive')).code).toBe(64);
  });

  it('refuses to change an organisation a ScimTenant manages unless --force', async () => {
    const file = join(dir, 'managed.yaml');
    await writeFile(file, 'spec: { organisationId: managed, displayName: Managed }\n');
    expect((await scimctl('apply', '-f', file)).code).toBe(0);
    await connection.collection('organisation_claims').insertOne({
      _id: 'managed' as never,
      uid: 'uid-1',
      namespace: 'team-a',
      name: 'managed',
      claimedAt: new Date(),
    });
    for (const args of [
      ['apply', '-f', file],
      ['token', 'rotate', 'managed'],
      ['token', 'revoke', 'managed'],
    ]) {
      const refused = await scimctl(...args);
      expect(refused.code, args.join(' ')).not.toBe(0);
      expect(refused.err.join('')).toContain('managed by ScimTenant team-a/managed');
    }
    expect((await scimctl('--json', 'show', 'managed')).json()[0]).toMatchObject({
      managedBy: { namespace: 'team-a', name: 'managed' },
    });
    const forced = await scimctl('--json', 'token', 'rotate', 'managed', '--force');
    expect(forced.code, forced.err.join()).toBe(0);
    expect(forced.json()[0]).toMatchObject({ orgId: 'managed' });
  });
});
