import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  applyOrganisation,
  ensureTenancyIndexes,
  issueToken,
  rotateToken,
  revokeTokens,
} from '@scimbridge/tenancy';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dbName = `api_rotation_${randomUUID().slice(0, 8)}`;

interface ApiProcess {
  child: ChildProcess;
  base: string;
  exit: Promise<number | null>;
}

async function startApi(): Promise<ApiProcess> {
  const port = await freePort();
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      MONGODB_URI: uri.toString(),
      REDIS_URL: inject('redisUrl'),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('scim-api /readyz', async () => (await fetch(`${base}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    isAlive: () => child.exitCode === null,
  });
  return { child, base, exit };
}

let connection: Connection;
let redis: Redis;
let apis: ApiProcess[] = [];

beforeAll(async () => {
  connection = await mongoose.createConnection(inject('mongodbUri'), { dbName }).asPromise();
  await ensureTenancyIndexes(connection);
  redis = new Redis(inject('redisUrl'));
  apis = await Promise.all([startApi(), startApi()]);
});

afterAll(async () => {
  for (const api of apis) api.child.kill('SIGTERM');
  const codes = await Promise.all(apis.map((a) => a.exit));
  redis.disconnect();
  await connection.dropDatabase();
  await connection.close();
  expect(codes).toEqual([0, 0]);
});

async function status(api: ApiProcess, token: string): Promise<number> {
  const response = await fetch(`${api.base}/scim/v2/Users?count=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

async function refusedWithin(token: string, ms: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const statuses = await Promise.all(apis.map((api) => status(api, token)));
    if (statuses.every((s) => s === 401)) return Date.now() - start;
    if (Date.now() - start > ms)
      throw new Error(`old token still accepted after ${ms} ms: ${statuses.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('token rotation across two api processes', () => {
  it('the old token is refused by both processes within a second of a rotation or revocation', async () => {
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await applyOrganisation(connection, orgId, { displayName: 'Rotation' }, redis);
    const first = await issueToken(connection, redis, orgId);
    // Both processes have the token in their auth cache (whose TTL is 30 s).
    for (const api of apis) expect(await status(api, first.token)).toBe(200);
    const second = await rotateToken(connection, redis, orgId);
    expect(await refusedWithin(first.token, 1_000)).toBeLessThan(1_000);
    for (const api of apis) expect(await status(api, second.token)).toBe(200);
    await revokeTokens(connection, redis, orgId);
    expect(await refusedWithin(second.token, 1_000)).toBeLessThan(1_000);
  });
});

describe('plan user limit across two api processes', () => {
  async function limitedOrganisation(userLimit: number) {
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    await applyOrganisation(
      connection,
      orgId,
      { displayName: 'Limited', plan: { scimIncluded: true, userLimit } },
      redis,
    );
    return { orgId, token: (await issueToken(connection, redis, orgId)).token };
  }

  it("a create waits while another replica holds the organisation's user-limit lock in Redis", async () => {
    const { orgId, token } = await limitedOrganisation(5);
    const elsewhere = new Mutex(redis, `scimbridge:user-limit:${orgId}`, { lockTimeout: 10_000 });
    await elsewhere.acquire();
    let settled = false;
    const created = fetch(`${apis[0]!.base}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'wait@example.com',
      }),
    }).then((r) => {
      settled = true;
      return r.status;
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(settled).toBe(false);
    await elsewhere.release();
    expect(await created).toBe(201);
  });

  it('parallel creates through both processes stop exactly at the limit', async () => {
    const { orgId, token } = await limitedOrganisation(10);
    const create = (i: number) =>
      fetch(`${apis[i % 2]!.base}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `parallel${i}@example.com`,
          active: true,
        }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { detail?: string } }));
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => create(i)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 403)).toHaveLength(30);
    expect(results.find((r) => r.status === 403)?.body.detail).toMatch(/allows 10 active users/);
    const active = await connection
      .collection('users')
      .countDocuments({ orgId, 'scim.managed': true, 'scim.deletedAt': null, active: { $ne: false } });
    expect(active).toBe(10);
  });
});
