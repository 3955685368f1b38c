// Efficiency benchmark (issue 15): what the api costs per request beyond the database, for each IdP workload, in
// one run, next to a ceiling that sends the same database commands from a bare Fastify route
// (bench/efficiency-ceiling.ts). Prints figures, asserts nothing. CPU is the process's utime + stime from
// /proc/<pid>/stat over the phase divided by the requests answered; the database's CPU per request is the
// MongoDB-wire server's (FerretDB here) over the same phase, for context only: it depends on the server.
// Each phase's CPU is corrected for the process's idle CPU, measured over a quiet second just before it.
//   EFF_SIZES (users per organisation, comma-separated; default 200,1000,10000,100000), EFF_FULL_MAX (see below), EFF_SECONDS (per phase, default 4),
//   EFF_CONCURRENCY (default 4), EFF_BACKEND (the embedded FerretDB's backend: sqlite, the default, or postgresql,
//   make dev's, whose GIN twins serve every top-level equality: the database CPU column is then FerretDB's process
//   only, not PostgreSQL's), MONGODB_URI / REDIS_URL to use running servers (the database CPU column is then
//   empty: its process is not here).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { normaliseKey } from '@scimbridge/scim-core';
import { ensureStoreIndexes } from '@scimbridge/store';
import { applyOrganisation, ensureTenancyIndexes, issueToken } from '@scimbridge/tenancy';
import { freePort, startFerretDB, startRedis, waitFor, type FerretBackend } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { seedGroup, startBenchApi, userDoc } from './common.js';
import { closedLoop } from './load.js';

const SIZES = (process.env.EFF_SIZES ?? '200,1000,10000,100000').split(',').map(Number);
/**
 * Above this many users only the workloads the server answers from its `_id` index run. On the embedded FerretDB
 * every other query reads the whole collection (docs/testing.md), so at large sizes a phase answers a handful of
 * requests and CPU per request is noise; the api's own cost is measured on the small collection and shown not to
 * grow with size on the `_id` paths. With MONGODB_URI set, raise it (EFF_FULL_MAX) to run every workload at every size.
 */
const FULL_MAX = Number(process.env.EFF_FULL_MAX ?? 1000);
const SECONDS = Number(process.env.EFF_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.EFF_CONCURRENCY ?? 4);
const IDLE_MS = 1_000;
const here = fileURLToPath(new URL('.', import.meta.url));
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const out = (text: string) => process.stdout.write(`${text}\n`);

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function start(args: string[], env: Record<string, string>, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor('bench server', async () => (await fetch(readyUrl).catch(() => undefined))?.ok === true, {
    timeoutMs: 60_000,
    isAlive: () => child.exitCode === null,
  });
  return child;
}

interface Row {
  workload: string;
  size: number;
  apiRps: number;
  apiCpu: number;
  ceilingCpu: number;
  apiDbCpu: number;
  ceilingDbCpu: number;
  errors: number;
}

async function measureSize(size: number, mongoUri: string, redisUrl: string, dbPid: number | undefined) {
  const dbName = `eff_${randomUUID().slice(0, 8)}`;
  const db = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
  const redis = new Redis(redisUrl);
  redis.on('error', () => undefined);
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  try {
    await ensureTenancyIndexes(db);
    await ensureStoreIndexes(db);
    const orgId = 'eff';
    await applyOrganisation(db, orgId, {
      displayName: orgId,
      rateLimit: { requestsPerSecond: 100_000, burst: 100_000 },
    });
    const ids: string[] = [];
    for (let startAt = 0; startAt < size; startAt += 5_000) {
      const docs = Array.from({ length: Math.min(5_000, size - startAt) }, (_, i) =>
        userDoc(orgId, `user${startAt + i}@eff.example`),
      );
      await db.collection('users').insertMany(docs as never[], { ordered: false });
      ids.push(...docs.map((d) => d._id));
    }
    // A group holding a subset of the users (so some reads render `groups`), at most 100 members whatever the size:
    // the member PATCH's response lists them, and its cost should not grow with the organisation. The member PATCH
    // workload adds users from `pool` and removes each again LAG pairs later; the last LAG of the pool start as
    // members, so every request of it changes the group (a PATCH that changes nothing writes nothing).
    const seeded = Math.min(100, Math.ceil(size / 10));
    const pool = ids.slice(seeded);
    const LAG = Math.min(16, Math.floor(pool.length / 2));
    const groupId = await seedGroup(db, orgId, 'Efficiency', [
      ...ids.slice(0, seeded),
      ...pool.slice(pool.length - LAG),
    ]);
    const token = (await issueToken(db, redis, orgId)).token;
    const { child: api, port: apiPort } = await startBenchApi(mongoUri, dbName, redisUrl);
    children.push(api);
    const ceilingPort = await freePort();
    const ceiling = await start(
      ['--import', 'tsx', `${here}efficiency-ceiling.ts`, mongoUri, dbName, String(ceilingPort)],
      {},
      `http://127.0.0.1:${ceilingPort}/ready`,
    );
    children.push(ceiling);
    const apiBase = `http://127.0.0.1:${apiPort}/scim/v2`;
    const ceilingBase = `http://127.0.0.1:${ceilingPort}`;
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    const userName = (i: number) =>
      i % 10 < 3 ? `missing-${i}@nowhere.example` : `USER${Math.floor(Math.random() * size)}@eff.example`;
    const send = async (url: string, method: string, body?: unknown, auth = true, expect = [200]) => {
      const response = await fetch(url, {
        method,
        headers: {
          ...(auth ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': auth ? 'application/scim+json' : 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      await response.arrayBuffer();
      return expect.includes(response.status);
    };
    /**
     * GET then PUT back with a changed attribute (Okta's update): one request of the workload is the pair. The title
     * is new on every PUT (a PUT that changes nothing writes nothing).
     */
    let puts = 0;
    const getPut = async (url: string, auth: boolean) => {
      const headers = auth ? { authorization: `Bearer ${token}` } : undefined;
      const current = await fetch(url, { ...(headers ? { headers } : {}) });
      if (current.status !== 200) {
        await current.arrayBuffer();
        return false;
      }
      const user = (await current.json()) as Record<string, unknown>;
      return send(url, 'PUT', { ...user, title: `title ${puts++}` }, auth);
    };
    // Entra's member PATCHes, alternately an add and a remove, in one sequence across warm-ups and phases of the api
    // and the ceiling (they share the group): pair j adds pool[j] and removes pool[j - LAG], added LAG pairs before.
    let memberStep = 0;
    const poolAt = (n: number) => pool[((n % pool.length) + pool.length) % pool.length]!;
    const memberPatch = () => {
      const step = memberStep++;
      const pair = Math.floor(step / 2);
      const operation =
        step % 2 === 0
          ? { op: 'Add', path: 'members', value: [{ value: poolAt(pair) }] }
          : { op: 'Remove', path: `members[value eq "${poolAt(pair - LAG)}"]` };
      return { schemas: [PATCH], Operations: [operation] };
    };
    const search = (i: number) => ({
      schemas: [SEARCH],
      filter: `userName eq "${userName(i)}"`,
      startIndex: 1,
      count: 100,
    });
    const newUser = (i: number) => ({
      schemas: [USER],
      userName: `new-${randomUUID()}@x.example`,
      name: { givenName: 'N', familyName: 'U' },
      emails: [{ value: `n${i}@x.example`, type: 'work', primary: true }],
      active: true,
    });
    const workloads: {
      name: string;
      /** Answered from the `_id` index on every server (so measurable at every size on FerretDB). */
      idServed?: boolean;
      api: (i: number) => Promise<boolean>;
      ceiling: (i: number) => Promise<boolean>;
    }[] = [
      {
        name: 'Okta userName eq (30% misses)',
        api: (i) =>
          send(
            `${apiBase}/Users?filter=${encodeURIComponent(`userName eq "${userName(i)}"`)}&startIndex=1&count=100`,
            'GET',
          ),
        ceiling: (i) =>
          send(
            `${ceilingBase}/lookup?org=${orgId}&key=${encodeURIComponent(normaliseKey(userName(i)))}`,
            'GET',
            undefined,
            false,
          ),
      },
      {
        name: 'GET /Users/{id}',
        idServed: true,
        api: () => send(`${apiBase}/Users/${pick()}`, 'GET'),
        ceiling: () => send(`${ceilingBase}/users/${orgId}/${pick()}`, 'GET', undefined, false),
      },
      {
        name: 'PATCH active (Okta, no path)',
        api: (i) =>
          send(`${apiBase}/Users/${pick()}`, 'PATCH', {
            schemas: [PATCH],
            Operations: [{ op: 'replace', value: { active: i % 2 === 0 } }],
          }),
        ceiling: (i) =>
          send(`${ceilingBase}/users/${orgId}/${pick()}`, 'PATCH', { active: i % 2 === 0 }, false),
      },
      {
        name: 'PATCH active (Entra, "False")',
        api: (i) =>
          send(`${apiBase}/Users/${pick()}`, 'PATCH', {
            schemas: [PATCH],
            Operations: [{ op: 'Replace', path: 'active', value: i % 2 === 0 ? 'True' : 'False' }],
          }),
        ceiling: (i) =>
          send(`${ceilingBase}/users/${orgId}/${pick()}`, 'PATCH', { active: i % 2 === 0 }, false),
      },
      {
        name: 'create',
        api: (i) => send(`${apiBase}/Users`, 'POST', newUser(i), true, [201]),
        ceiling: (i) => send(`${ceilingBase}/users/${orgId}`, 'POST', newUser(i), false, [201]),
      },
      {
        name: 'list page (100)',
        api: () => send(`${apiBase}/Users?startIndex=1&count=100`, 'GET'),
        ceiling: () => send(`${ceilingBase}/users/${orgId}`, 'GET', undefined, false),
      },
      {
        // Not `_id`-served on FerretDB: the PUT's compare-and-set filter is {_id, orgId, meta.version}.
        name: 'GET + PUT (Okta update)',
        api: () => getPut(`${apiBase}/Users/${pick()}`, true),
        ceiling: () => getPut(`${ceilingBase}/users/${orgId}/${pick()}`, false),
      },
      {
        // Not `_id`-served on FerretDB: an add checks the member with {orgId, _id, scim.*}, both check the row
        // with {orgId, _id: $in}, and the write is {_id, orgId}.
        name: 'group member PATCH (Entra)',
        api: () => send(`${apiBase}/Groups/${groupId}`, 'PATCH', memberPatch()),
        ceiling: () => send(`${ceilingBase}/groups/${orgId}/${groupId}`, 'PATCH', memberPatch(), false),
      },
      {
        name: '.search userName (30% misses)',
        api: (i) => send(`${apiBase}/Users/.search`, 'POST', search(i)),
        ceiling: (i) => send(`${ceilingBase}/search/${orgId}`, 'POST', search(i), false),
      },
    ];
    // A process's idle CPU (timers: the api's broadcast relay, the driver's heartbeats) is measured over a quiet
    // second before each phase and subtracted, so slow phases (few requests) are not charged for it.
    const idleRate = async (pid: number) => {
      const [c0, d0, t0] = [cpuMs(pid), cpuMs(dbPid), performance.now()];
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const elapsed = performance.now() - t0;
      return { cpu: (cpuMs(pid) - c0) / elapsed, db: (cpuMs(dbPid) - d0) / elapsed };
    };
    const measure = async (pid: number, request: (i: number) => Promise<boolean>) => {
      await closedLoop(CONCURRENCY, 500, request); // warm-up
      const idle = await idleRate(pid);
      const [c0, d0, t0] = [cpuMs(pid), cpuMs(dbPid), performance.now()];
      const result = await closedLoop(CONCURRENCY, SECONDS * 1000, request);
      const elapsed = performance.now() - t0;
      const [c1, d1] = [cpuMs(pid), cpuMs(dbPid)];
      const answered = Math.max(1, result.requests);
      return {
        result,
        cpu: Math.max(0, c1 - c0 - idle.cpu * elapsed) / answered,
        db: Math.max(0, d1 - d0 - idle.db * elapsed) / answered,
      };
    };
    let peakRss = rssMb(api.pid!);
    for (const w of workloads) {
      if (size > FULL_MAX && !w.idServed) continue;
      const a = await measure(api.pid!, w.api);
      peakRss = Math.max(peakRss, rssMb(api.pid!));
      const c = await measure(ceiling.pid!, w.ceiling);
      rows.push({
        workload: w.name,
        size,
        apiRps: a.result.rps,
        apiCpu: a.cpu,
        ceilingCpu: c.cpu,
        apiDbCpu: a.db,
        ceilingDbCpu: c.db,
        errors: a.result.errors + c.result.errors,
      });
    }
    return { rows, peakRss };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    redis.disconnect();
    await db.dropDatabase().catch(() => undefined);
    await db.close();
  }
}

async function main(): Promise<void> {
  const backend = (process.env.EFF_BACKEND ?? 'sqlite') as FerretBackend;
  const ferret = process.env.MONGODB_URI ? undefined : await startFerretDB('eff-ferretdb', backend);
  const redisServer = process.env.REDIS_URL ? undefined : await startRedis('eff-redis');
  const mongoUri = process.env.MONGODB_URI ?? ferret!.uri;
  const redisUrl = process.env.REDIS_URL ?? redisServer!.url;
  out(
    `efficiency: ${SECONDS} s per phase, ${CONCURRENCY} concurrent clients, sizes ${SIZES.join(', ')} users, store ${process.env.MONGODB_URI ? 'MONGODB_URI' : `FerretDB on ${backend}`}`,
  );
  out(
    'CPU in ms per answered request (utime+stime); ratio = api / ceiling (same database commands, bare route)',
  );
  const header = `${'workload'.padEnd(30)} ${'users'.padStart(6)} ${'api req/s'.padStart(9)} ${'api CPU'.padStart(8)} ${'ceiling'.padStart(8)} ${'ratio'.padStart(6)} ${'db CPU (api)'.padStart(12)} ${'db CPU (ceil)'.padStart(13)} errors`;
  const all: Row[] = [];
  try {
    for (const size of SIZES) {
      const { rows, peakRss } = await measureSize(size, mongoUri, redisUrl, ferret?.process.pid);
      all.push(...rows);
      out(`\n${size} users; api peak RSS ${peakRss.toFixed(0)} MB`);
      out(header);
      for (const r of rows)
        out(
          `${r.workload.padEnd(30)} ${String(r.size).padStart(6)} ${r.apiRps.toFixed(0).padStart(9)} ${r.apiCpu.toFixed(2).padStart(8)} ${r.ceilingCpu.toFixed(2).padStart(8)} ${(r.apiCpu / r.ceilingCpu).toFixed(2).padStart(6)} ${r.apiDbCpu.toFixed(2).padStart(12)} ${r.ceilingDbCpu.toFixed(2).padStart(13)} ${r.errors}`,
        );
    }
    if (SIZES.length > 1) {
      const ranAtAll = (x: Row) =>
        SIZES.every((n) => all.some((y) => y.size === n && y.workload === x.workload));
      const [small, large] = [SIZES[0]!, SIZES[SIZES.length - 1]!];
      out(
        `\napi CPU per request, ${large} users / ${small} users (the api's own cost should not grow with the collection):`,
      );
      for (const r of all.filter((x) => x.size === small && ranAtAll(x))) {
        const big = all.find((x) => x.size === large && x.workload === r.workload)!;
        out(`  ${r.workload.padEnd(30)} ${(big.apiCpu / r.apiCpu).toFixed(2)}`);
      }
    }
  } finally {
    await ferret?.stop();
    await redisServer?.stop();
  }
}

await main();
