// The embedded default under an IdP's load (issue 15): can `make dev`'s store serve a 10,000-user organisation
// at Microsoft Entra's floor for gallery apps, 25 requests/s per tenant, with p99 under 1 s, on one api replica?
//
// Starts FerretDB on each backend asked for (EMB_BACKENDS, default "postgresql,sqlite": make dev's default and the
// test suite's), Redis, the built api and worker as processes (the worker adds each created user to the default
// group and fans out the audit events, as in make dev), seeds one organisation with EMB_USERS (10,000) users, all
// members of its default group, and sends open-loop traffic at EMB_RATE (25) requests/s for EMB_SECONDS (20) per
// phase: Okta `userName eq` lookups (30% misses), creates, then both mixed. Prints achieved rate, p50/p99/max
// latency and errors (a request still unanswered when 64 are outstanding counts as an error).
// The capacity column is a closed loop of 4 clients first (what the server can do at most).
//   pnpm --filter @scimbridge/scim-api bench:embedded
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ensureStoreIndexes } from '@scimbridge/store';
import { applyOrganisation, ensureTenancyIndexes, issueToken } from '@scimbridge/tenancy';
import { freePort, startFerretDB, startRedis, waitFor, type FerretBackend } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { seedGroup, startBenchApi, userDoc } from './common.js';
import { closedLoop, openLoop } from './load.js';

const BACKENDS = (process.env.EMB_BACKENDS ?? 'postgresql,sqlite').split(',') as FerretBackend[];
const USERS = Number(process.env.EMB_USERS ?? 10_000);
const RATE = Number(process.env.EMB_RATE ?? 25);
const SECONDS = Number(process.env.EMB_SECONDS ?? 20);
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const out = (line: string) => process.stdout.write(`${line}\n`);

async function startWorker(mongoUri: string, redisUrl: string): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../scim-worker/dist/main.js', import.meta.url))],
    {
      env: {
        PATH: process.env.PATH,
        MONGODB_URI: mongoUri,
        REDIS_URL: redisUrl,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ...(process.env.RELAY_INTERVAL_MS ? { RELAY_INTERVAL_MS: process.env.RELAY_INTERVAL_MS } : {}),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitFor(
    'bench worker',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    { timeoutMs: 60_000, isAlive: () => child.exitCode === null },
  );
  return child;
}

/** `db_client_operation_duration_seconds` sums and counts from the api's /metrics, by "operation collection". */
async function databaseCommands(port: number): Promise<Map<string, { seconds: number; count: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, { seconds: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = /^db_client_operation_duration_seconds_(sum|count)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const key = `${labels.db_operation_name} ${labels.db_collection_name}`;
    const entry = out.get(key) ?? { seconds: 0, count: 0 };
    if (m[1] === 'sum') entry.seconds += Number(m[3]);
    else entry.count += Number(m[3]);
    out.set(key, entry);
  }
  return out;
}

/** The api's database commands per request over a phase, the costliest first ("find users 2.0 × 9.1 ms"). */
function perRequest(
  before: Map<string, { seconds: number; count: number }>,
  after: Map<string, { seconds: number; count: number }>,
  requests: number,
): string {
  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { seconds: 0, count: 0 };
    return {
      key,
      count: (a.count - b.count) / requests,
      seconds: a.seconds - b.seconds,
      calls: a.count - b.count,
    };
  });
  return rows
    .filter((r) => r.calls > 0)
    .sort((x, y) => y.seconds - x.seconds)
    .slice(0, 6)
    .map((r) => `${r.key} ${r.count.toFixed(2)} × ${((r.seconds * 1000) / r.calls).toFixed(1)} ms`)
    .join(', ');
}

async function measure(backend: FerretBackend): Promise<void> {
  const ferret = await startFerretDB(`emb-${backend}`, backend);
  const redisServer = await startRedis('emb-redis');
  const children: ChildProcess[] = [];
  const dbName = 'embedded';
  const db = await mongoose.createConnection(ferret.uri, { dbName }).asPromise();
  const redis = new Redis(redisServer.url);
  try {
    await ensureTenancyIndexes(db);
    await ensureStoreIndexes(db);
    const orgId = 'emb';
    // The per-organisation rate limit (50 req/s by default) would answer the capacity loop with 429s: raised here,
    // so capacity is what the store and the api can do; the open loop's 25 req/s is under the default anyway.
    await applyOrganisation(db, orgId, {
      displayName: orgId,
      defaultGroup: 'Everyone',
      rateLimit: { requestsPerSecond: 100_000, burst: 100_000 },
    });
    const seeded = performance.now();
    const ids: string[] = [];
    for (let at = 0; at < USERS; at += 5_000) {
      const docs = Array.from({ length: Math.min(5_000, USERS - at) }, (_, i) =>
        userDoc(orgId, `user${at + i}@emb.example`),
      );
      await db.collection('users').insertMany(docs as never[], { ordered: false });
      ids.push(...docs.map((d) => d._id));
    }
    await seedGroup(db, orgId, 'Everyone', ids);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const token = (await issueToken(db, redis, orgId)).token;
    const mongoUri = new URL(ferret.uri);
    mongoUri.pathname = `/${dbName}`;
    const { child: api, port } = await startBenchApi(ferret.uri, dbName, redisServer.url);
    children.push(api, await startWorker(mongoUri.toString(), redisServer.url));
    const base = `http://127.0.0.1:${port}/scim/v2`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    const lookup = async (i: number) => {
      const name =
        i % 10 < 3 ? `missing-${i}@nowhere.example` : `USER${Math.floor(Math.random() * USERS)}@emb.example`;
      const r = await fetch(`${base}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, {
        headers,
      });
      const body = (await r.json()) as { totalResults?: number };
      return r.status === 200 && body.totalResults === (i % 10 < 3 ? 0 : 1);
    };
    const create = async () => {
      const userName = `new-${randomUUID()}@emb.example`;
      const r = await fetch(`${base}/Users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          schemas: [USER],
          userName,
          name: { givenName: 'New', familyName: 'User' },
          emails: [{ value: userName, type: 'work', primary: true }],
          active: true,
        }),
      });
      await r.arrayBuffer();
      return r.status === 201;
    };
    out(
      `\nFerretDB on ${backend}: ${USERS} users in the default group (seeded in ${seedSeconds.toFixed(1)} s), open loop ${RATE} req/s, ${SECONDS} s per phase`,
    );
    out(
      `${'phase'.padEnd(28)} ${'capacity req/s'.padStart(14)} | open loop: ${'done'.padStart(5)} ${'req/s'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} errors  target (>= ${RATE} req/s, p99 < 1000 ms)`,
    );
    const phases: [string, (i: number) => Promise<boolean>][] = [
      ['Okta userName eq (30% miss)', lookup],
      ['create', create],
      ['mixed (3 lookups : 1 create)', (i) => (i % 4 === 3 ? create() : lookup(i))],
    ];
    for (const [name, request] of phases) {
      // Capacity: 4 clients back to back (a closed loop cannot queue past the server); then the IdP's rate.
      const before = await databaseCommands(port);
      const capacity = await closedLoop(4, (SECONDS * 1000) / 2, request);
      // Answered correctly per second (a closed loop's rps counts every response).
      const capacityOk =
        (capacity.rps * (capacity.requests - capacity.errors)) / Math.max(1, capacity.requests);
      const r = await openLoop(RATE, SECONDS * 1000, request, 64);
      const after = await databaseCommands(port);
      const met = r.rps >= RATE * 0.95 && r.p99 < 1000 && r.errors === 0;
      out(
        `${name.padEnd(28)} ${capacityOk.toFixed(1).padStart(14)} | open loop: ${String(r.requests).padStart(5)} ${r.rps.toFixed(1).padStart(6)} ${r.p50.toFixed(0).padStart(7)} ${r.p99.toFixed(0).padStart(7)} ${r.max.toFixed(0).padStart(7)} ${String(r.errors).padStart(6)}  ${met ? 'met' : 'NOT met'}`,
      );
      out(`  database per request: ${perRequest(before, after, capacity.requests + r.requests + r.errors)}`);
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    redis.disconnect();
    await db.close();
    await ferret.stop();
    await redisServer.stop();
  }
}

for (const backend of BACKENDS) await measure(backend);
