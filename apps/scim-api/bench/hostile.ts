// The cost model, measured: each hostile request of issue "bounded cost" against a real api process, with a
// second organisation's lookups running meanwhile. Prints figures, asserts nothing.
//   node --conditions=@scimbridge/source --import tsx bench/hostile.ts
// The api runs from ../dist (BENCH_API_MAIN=<path to main.js> for another build, e.g. an older commit's);
// BENCH_CASES=<substring,…> runs some cases only.
// Figures per request: its latency, the api process's CPU time and peak RSS growth (/proc), and the other
// organisation's p50/p99 during it next to its baseline.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { keyFieldName, normaliseKey } from '@scimbridge/scim-core';
import { ensureStoreIndexes, uuidv7 } from '@scimbridge/store';
import { applyOrganisation, ensureTenancyIndexes, issueToken } from '@scimbridge/tenancy';
import { startFerretDB, startRedis } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { startBenchApi } from './common.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const apiMain = process.env.BENCH_API_MAIN ?? `${here}../dist/main.js`;
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 60_000);
const line = (text: string) => process.stdout.write(`${text}\n`);
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

function procStat(pid: number): { cpuMs: number; hwmMb: number; rssMb: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuMs: ticks * 10, hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

async function request(base: string, token: string, method: string, path: string, body?: unknown) {
  const started = performance.now();
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await response.text();
    return { status: response.status, ms: performance.now() - started, text };
  } catch (error) {
    return { status: 0, ms: performance.now() - started, text: String(error) };
  }
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};

async function main(): Promise<void> {
  const ferret = process.env.MONGODB_URI ? undefined : await startFerretDB('hostile-ferretdb');
  const redisServer = process.env.REDIS_URL ? undefined : await startRedis('hostile-redis');
  const mongoUri = process.env.MONGODB_URI ?? ferret!.uri;
  const redisUrl = process.env.REDIS_URL ?? redisServer!.url;
  const dbName = `hostile_${randomUUID().slice(0, 8)}`;
  const db = await mongoose.createConnection(mongoUri, { dbName }).asPromise();
  const redis = new Redis(redisUrl);
  redis.on('error', () => undefined);
  let api: ChildProcess | undefined;
  process.on('exit', () => api?.kill('SIGKILL'));
  try {
    await ensureTenancyIndexes(db);
    await ensureStoreIndexes(db);
    const fast = { rateLimit: { requestsPerSecond: 100_000, burst: 100_000 } };
    await applyOrganisation(db, 'hostile', { displayName: 'hostile', ...fast });
    await applyOrganisation(db, 'other', { displayName: 'other', ...fast });
    const hostile = (await issueToken(db, redis, 'hostile')).token;
    const other = (await issueToken(db, redis, 'other')).token;
    const started = await startBenchApi(mongoUri, dbName, redisUrl, apiMain);
    api = started.child;
    const { port } = started;
    const child = api;
    const base = `http://127.0.0.1:${port}/scim/v2`;
    const pid = child.pid!;

    // The issue's setup: 150 users and one 150-member group in the hostile organisation; 20 users in the other.
    const now = new Date();
    const memberIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      const created = await request(base, hostile, 'POST', '/Users', {
        schemas: [USER],
        userName: `h${i}@x.test`,
      });
      memberIds.push((JSON.parse(created.text) as { id: string }).id);
    }
    const groupId = uuidv7();
    await db.collection('groups').insertOne({
      _id: groupId as never,
      orgId: 'hostile',
      displayName: 'Everyone',
      [keyFieldName('displayName')]: normaliseKey('Everyone'),
      meta: { resourceType: 'Group', created: now, lastModified: now, version: 1 },
    });
    await db.collection('memberships').insertMany(
      memberIds.map((m) => ({
        _id: `${groupId}:${m}` as never,
        orgId: 'hostile',
        groupId,
        memberId: m,
        memberType: 'User',
        addedAt: now,
      })),
    );
    for (let i = 0; i < 20; i++)
      await request(base, other, 'POST', '/Users', { schemas: [USER], userName: `o${i}@x.test` });
    const victim = memberIds[0]!;
    const emails = (n: number, p: string) =>
      Array.from({ length: n }, (_, i) => ({ value: `${p}${i}@x.test`, type: 'other' }));

    /** The other organisation's sequential lookups while `during` runs (at least `minMs`). */
    const measure = async (during: () => Promise<{ status: number; ms: number }>, minMs = 2_000) => {
      let stop = false;
      const latencies: number[] = [];
      const loop = (async () => {
        for (let i = 0; !stop; i++) {
          const r = await request(
            base,
            other,
            'GET',
            `/Users?filter=${encodeURIComponent(`userName eq "o${i % 20}@x.test"`)}`,
          );
          latencies.push(r.status === 200 ? r.ms : TIMEOUT_MS);
        }
      })();
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM, so the peak is this case's
      const before = procStat(pid);
      const started = performance.now();
      const result = await during();
      const rest = minMs - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      stop = true;
      await loop;
      const after = procStat(pid);
      return {
        status: result.status,
        latencyMs: Math.round(result.ms),
        apiCpuMs: Math.round(after.cpuMs - before.cpuMs),
        peakRssGrowthMb: Math.round(after.hwmMb - before.rssMb),
        otherP50Ms: Math.round(pct(latencies, 50)),
        otherP99Ms: Math.round(pct(latencies, 99)),
        otherRequests: latencies.length,
      };
    };

    const baseline = await measure(async () => ({ status: 0, ms: 0 }), 3_000);
    line(
      `baseline: other organisation p50 ${baseline.otherP50Ms} ms, p99 ${baseline.otherP99Ms} ms (${baseline.otherRequests} lookups)`,
    );
    const cases: [string, () => Promise<{ status: number; ms: number }>][] = [
      [
        'GET /Groups?filter=members pr or … (500 terms)',
        () =>
          request(
            base,
            hostile,
            'GET',
            `/Groups?filter=${encodeURIComponent(Array.from({ length: 500 }, () => 'members pr').join(' or '))}`,
          ),
      ],
      [
        'PATCH add 8,000 emails (1st)',
        () =>
          request(
            base,
            hostile,
            'PATCH',
            `/Users/${victim}`,
            patch({ op: 'add', path: 'emails', value: emails(8_000, 'a') }),
          ),
      ],
      [
        'PATCH add 8,000 emails (2nd)',
        () =>
          request(
            base,
            hostile,
            'PATCH',
            `/Users/${victim}`,
            patch({ op: 'add', path: 'emails', value: emails(8_000, 'b') }),
          ),
      ],
      [
        'PATCH 5,000 single-value adds',
        () =>
          request(
            base,
            hostile,
            'PATCH',
            `/Users/${memberIds[1]}`,
            patch(
              ...Array.from({ length: 5_000 }, (_, i) => ({
                op: 'add',
                path: 'emails',
                value: [{ value: `s${i}@x.test` }],
              })),
            ),
          ),
      ],
      [
        'Bulk with /Users/%E0%A4%A in op 2',
        () =>
          request(base, hostile, 'POST', '/Bulk', {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
            Operations: [
              {
                method: 'POST',
                path: '/Users',
                bulkId: 'a',
                data: { schemas: [USER], userName: 'bulk-a@x.test' },
              },
              {
                method: 'PATCH',
                path: '/Users/%E0%A4%A',
                data: patch({ op: 'replace', path: 'active', value: false }),
              },
            ],
          }),
      ],
      ['GET /Groups/{150-member group}', () => request(base, hostile, 'GET', `/Groups/${groupId}`)],
      ['GET /Groups?count=100', () => request(base, hostile, 'GET', '/Groups?count=100')],
      [
        'GET /Users with 1,000 random tokens',
        async () => {
          const started = performance.now();
          let status = 0;
          for (let i = 0; i < 1_000; i++) {
            const random = `scimb_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '').slice(0, 17)}`;
            status = (await request(base, random, 'GET', '/Users')).status;
          }
          return { status, ms: performance.now() - started };
        },
      ],
      [
        'POST /Groups with a 20,001-member PUT-size list',
        () =>
          request(base, hostile, 'POST', '/Groups', {
            schemas: [GROUP],
            displayName: 'too-big',
            members: Array.from({ length: 20_001 }, (_, i) => ({ value: `m${i}` })),
          }),
      ],
    ];
    line(
      '| request | status | latency ms | api CPU ms | api peak RSS growth MB | other p50 ms | other p99 ms |',
    );
    line('| --- | --- | --- | --- | --- | --- | --- |');
    const only = process.env.BENCH_CASES?.split(',');
    for (const [name, run] of cases) {
      if (only && !only.some((o) => name.includes(o))) continue;
      const r = await measure(run);
      line(
        `| ${name} | ${r.status} | ${r.latencyMs} | ${r.apiCpuMs} | ${r.peakRssGrowthMb} | ${r.otherP50Ms} | ${r.otherP99Ms} |`,
      );
    }
  } finally {
    api?.kill('SIGTERM');
    redis.disconnect();
    await db.dropDatabase().catch(() => undefined);
    await db.close();
    await redisServer?.stop();
    await ferret?.stop();
  }
}

await main();
