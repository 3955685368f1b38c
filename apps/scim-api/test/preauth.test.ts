import { randomBytes, randomUUID } from 'node:crypto';
import { ensureStoreIndexes } from '@scimbridge/store';
import {
  adoptToken,
  applyOrganisation,
  ensureTenancyIndexes,
  issueToken,
  mintToken,
  TOKEN_PREFIX,
} from '@scimbridge/tenancy';
import { startRedis, type RedisServer } from '@scimbridge/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { ERROR } from './harness.js';

const FAILURES_PER_ADDRESS = 10;

let server: RedisServer;
let connection: Connection;
let redis: Redis;
let app: FastifyInstance;
let base: string;
let registry: Registry;
let commands = 0;
/**
 * Writes of batched records (the request log, the aggregated `auth.failed` rows): flushed on a timer for earlier
 * requests, at most one of each per flush period, never one per request.
 */
let batchedWrites = 0;
const BATCHED = new Set(['request_logs', 'audit_events']);

beforeAll(async () => {
  server = await startRedis('preauth-redis');
  connection = await mongoose
    .createConnection(inject('mongodbUri'), {
      dbName: `api_preauth_${randomUUID().slice(0, 8)}`,
      monitorCommands: true,
    })
    .asPromise();
  connection.getClient().on('commandStarted', (event) => {
    if (event.commandName === 'insert' && BATCHED.has(String(event.command.insert))) batchedWrites += 1;
    else commands += 1;
  });
  await ensureTenancyIndexes(connection);
  await ensureStoreIndexes(connection);
  redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  registry = new Registry();
  app = await buildApp({
    registry,
    readiness: [],
    logLevel: 'silent',
    connection,
    redis,
    jobs: null,
    authFailureFlushMs: 3_600_000,
    // Its once-a-second outbox scan is background work, not a cost of the refused requests counted here.
    broadcastRelayMs: 3_600_000,
    addressLimit: { failures: FAILURES_PER_ADDRESS, windowSeconds: 60 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/scim/v2`;
});

afterAll(async () => {
  await app.close();
  redis.disconnect();
  await connection.dropDatabase();
  await connection.close();
  await server.stop();
});

async function get(token: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${base}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** Sends the requests `parallel` at a time; returns the responses in order. */
async function flood(tokens: string[], parallel = 16) {
  const results: Awaited<ReturnType<typeof get>>[] = [];
  for (let i = 0; i < tokens.length; i += parallel) {
    results.push(...(await Promise.all(tokens.slice(i, i + parallel).map((token) => get(token)))));
  }
  return results;
}

function malformed(i: number): string {
  const shapes = [
    () => `${TOKEN_PREFIX}${randomBytes(12).toString('hex')}`, // our prefix, wrong length
    () => {
      const minted = mintToken();
      return minted.slice(0, -1) + (minted.endsWith('A') ? 'B' : 'A'); // a typo: the checksum fails
    },
    () => randomBytes(8).toString('hex'), // too short for an adopted token
    () => 'x'.repeat(600), // too long
  ];
  return shapes[i % shapes.length]!();
}

function expectRefused(response: Awaited<ReturnType<typeof get>>): void {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="scim"/);
  expect(response.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(response.body).toMatchObject({ schemas: [ERROR], status: '401' });
}

describe('cheap rejection before authentication', () => {
  it('floods of random well-formed and malformed tokens are refused with 401 and, after the first few, no database command', async () => {
    await applyOrganisation(connection, 'org-preauth', { displayName: 'Preauth' }, redis);
    const { token } = await issueToken(connection, redis, 'org-preauth');
    expect((await get(token)).status).toBe(200);

    const before = commands;
    const writesBefore = batchedWrites;
    const started = performance.now();
    const wellFormed = await flood(Array.from({ length: 1_000 }, () => mintToken()));
    const afterWellFormed = commands;
    const bad = await flood(Array.from({ length: 1_000 }, (_, i) => malformed(i)));
    const afterMalformed = commands;
    // Batched writes are bounded by time, not by requests: two kinds, one per second each at most.
    expect(batchedWrites - writesBefore).toBeLessThanOrEqual(
      2 * Math.ceil((performance.now() - started) / 1_000) + 2,
    );
    for (const response of [...wellFormed, ...bad]) expectRefused(response);

    // Only the lookups the per-address budget allows reach the database; malformed tokens never do. The limiter
    // checks before a lookup and counts the failure after it, so requests of one parallel batch (16) may all pass
    // the check while the budget's last failures are being counted: at most budget + batch − 1 lookups.
    expect(afterWellFormed - before).toBeLessThanOrEqual(FAILURES_PER_ADDRESS + 16);
    expect(afterMalformed - afterWellFormed).toBe(0);
    const limited = wellFormed.filter((r) => r.headers.get('retry-after') !== null);
    expect(limited.length).toBeGreaterThanOrEqual(1_000 - FAILURES_PER_ADDRESS - 16);

    // Successful requests from the same address are never limited by it.
    expect((await get(token)).status).toBe(200);

    const refused = await registry.getSingleMetricAsString('scim_refused_requests_total');
    expect(refused).toMatch(/reason="auth_preflight"} 1000/);
    expect(refused).toMatch(/reason="auth_address_limit"}/);
    console.info(
      `preauth flood: ${afterWellFormed - before} database commands for 1000 well-formed unknown tokens, ` +
        `${afterMalformed - afterWellFormed} for 1000 malformed ones`,
    );

    await app.close();
    const rows = await connection.collection('audit_events').find({ action: 'auth.failed' }).toArray();
    console.info(`preauth flood: ${rows.length} auth.failed rows for 2000 refused requests`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(rows.reduce((sum, row) => sum + (row.details as { count: number }).count, 0)).toBe(2_000);
    for (const row of rows)
      expect((row.details as { tokenFingerprints: string[] }).tokenFingerprints.length).toBeLessThanOrEqual(
        5,
      );
  });
});

describe('token shapes', () => {
  it('an adopted token of another shape still authenticates, and the address limit falls back in-process without Redis', async () => {
    const local = await buildApp({
      registry: new Registry(),
      readiness: [],
      logLevel: 'silent',
      connection,
      redis,
      jobs: null,
      addressLimit: { failures: 3, windowSeconds: 60 },
    });
    try {
      // The other test's flood already spent this address's budget in Redis.
      await redis.flushdb();
      await applyOrganisation(connection, 'org-adopted', { displayName: 'Adopted' }, redis);
      const adopted = `byo-${randomBytes(24).toString('base64url')}`;
      await adoptToken(connection, redis, 'org-adopted', adopted);
      const ok = await local.inject({
        url: '/scim/v2/Users',
        headers: { authorization: `Bearer ${adopted}` },
      });
      expect(ok.statusCode).toBe(200);

      await server.stop();
      const before = commands;
      for (let i = 0; i < 20; i += 1) {
        const refused = await local.inject({
          url: '/scim/v2/Users',
          headers: { authorization: `Bearer ${mintToken()}` },
        });
        expect(refused.statusCode).toBe(401);
      }
      expect(commands - before).toBeLessThanOrEqual(3);
    } finally {
      await local.close();
      await server.restart();
    }
  });
});
