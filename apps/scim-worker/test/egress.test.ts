import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { listDeadLetters } from '@scimbridge/audit-delivery';
import { JobProducer } from '@scimbridge/jobs';
import { waitFor } from '@scimbridge/testing';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EgressPolicy } from '../src/audit/egress.js';
import { postWebhook } from '../src/audit/webhook.js';
import { defaultWorkerSettings } from '../src/index.js';
import type { WorkerCollections } from '../src/store/collections.js';
import {
  connectMongo,
  startTestWorker,
  storeAuditEvent,
  storeOrganisation,
  uniqueName,
  workerCollections,
  type TestWorker,
} from './support.js';

/** The machine's own address in private space (RFC 1918 or IPv6 unique-local), where a receiver can listen. */
function privateAddress(): string {
  const candidates = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => i!.address);
  const found = candidates.find((a) =>
    /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|f[cd][0-9a-f]{2}:)/i.test(a),
  );
  if (!found)
    throw new Error(`no private address on this machine to listen on (have: ${candidates.join(', ')})`);
  return found;
}

async function listen(host: string): Promise<{ server: Server; port: number; received: () => number }> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count += 1;
      response.writeHead(200).end('thanks, and here is my internal banner');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, received: () => count };
}

const byDefault = new EgressPolicy(defaultWorkerSettings);
const allowingLocal = new EgressPolicy({
  AUDIT_WEBHOOK_ALLOW_HTTP: true,
  AUDIT_WEBHOOK_ALLOWED_CIDRS: [
    '127.0.0.0/8',
    '::1/128',
    'fc00::/7',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
  ],
  AUDIT_WEBHOOK_DENIED_CIDRS: [],
});
const post = (url: string, egress: EgressPolicy) =>
  postWebhook({
    sink: { name: 'siem', url, secret: 'k' },
    eventId: 'e1',
    body: '{}',
    attempt: 1,
    timeoutMs: 2_000,
    egress,
  });

let loopback: Awaited<ReturnType<typeof listen>>;
let privateReceiver: Awaited<ReturnType<typeof listen>>;
let privateHost: string;
beforeAll(async () => {
  loopback = await listen('127.0.0.1');
  privateHost = privateAddress();
  privateReceiver = await listen(privateHost);
});
afterAll(async () => {
  loopback.server.close();
  privateReceiver.server.close();
});

describe('webhook egress', () => {
  const urlOf = (host: string, port: number) =>
    `http://${host.includes(':') ? `[${host}]` : host}:${port}/audit`;

  it('refuses loopback, a private address and a name that resolves to loopback by default, before any byte is sent', async () => {
    const cases = [
      urlOf('127.0.0.1', loopback.port),
      urlOf(privateHost, privateReceiver.port),
      urlOf('localhost', loopback.port),
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:127.0.0.1]:1/',
    ];
    // With http allowed, so that the address rule is what refuses.
    const httpOnly = new EgressPolicy({ ...defaultWorkerSettings, AUDIT_WEBHOOK_ALLOW_HTTP: true });
    for (const url of cases)
      expect(await post(url, httpOnly), url).toMatchObject({
        ok: false,
        retryable: false,
        reason: 'egress_address',
        status: null,
      });
    expect(loopback.received() + privateReceiver.received()).toBe(0);
  });

  it('refuses plain http unless the deployment allows it', async () => {
    expect(await post('http://siem.example.com/audit', byDefault)).toMatchObject({
      ok: false,
      reason: 'egress_scheme',
      message: expect.stringContaining('https'),
    });
    expect(await post(urlOf('127.0.0.1', loopback.port), byDefault)).toMatchObject({
      reason: 'egress_scheme',
    });
  });

  it('delivers to each of them when the allow-list names their range', async () => {
    for (const url of [
      urlOf('127.0.0.1', loopback.port),
      urlOf('localhost', loopback.port),
      urlOf(privateHost, privateReceiver.port),
    ])
      expect(await post(url, allowingLocal), url).toEqual({ ok: true, status: 200 });
    expect(loopback.received()).toBe(2);
    expect(privateReceiver.received()).toBe(1);
  });

  it('keeps a denied range denied even when a broader range is not refused, and allow wins over deny', () => {
    const policy = new EgressPolicy({
      AUDIT_WEBHOOK_ALLOW_HTTP: false,
      AUDIT_WEBHOOK_ALLOWED_CIDRS: ['10.20.0.0/16'],
      AUDIT_WEBHOOK_DENIED_CIDRS: ['34.118.224.0/20'],
    });
    expect(policy.allowsAddress('34.118.230.1')).toBe(false);
    expect(policy.allowsAddress('34.119.0.1')).toBe(true);
    expect(policy.allowsAddress('10.20.3.4')).toBe(true);
    expect(policy.allowsAddress('10.21.3.4')).toBe(false);
    expect(policy.allowsAddress('fe80::1')).toBe(false);
    expect(policy.allowsAddress('2606:4700::1111')).toBe(true);
  });
});

describe('webhook egress through the worker', () => {
  let mongo: Connection;
  let collections: WorkerCollections;
  let worker: TestWorker;
  let producerRedis: Redis;
  let producer: JobProducer;
  const prefix = uniqueName('wegress');

  beforeAll(async () => {
    mongo = await connectMongo(inject('mongodbUri'), uniqueName('worker_egress'));
    collections = workerCollections(mongo);
    // The default policy, stated: https only, no private or loopback destinations.
    worker = await startTestWorker(mongo, inject('redisUrl'), {
      QUEUE_PREFIX: prefix,
      AUDIT_WEBHOOK_ATTEMPTS: 3,
      AUDIT_WEBHOOK_ALLOW_HTTP: false,
      AUDIT_WEBHOOK_ALLOWED_CIDRS: [],
    });
    producerRedis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    producer = new JobProducer({ connection: producerRedis, prefix });
  });
  afterAll(async () => {
    await producer.close();
    producerRedis.disconnect();
    await worker.stop();
    await mongo.dropDatabase();
    await mongo.close();
  });

  it('dead-letters a refused destination at once with a reason category, not what answered there', async () => {
    const orgId = uniqueName('org');
    const receivedBefore = loopback.received();
    await storeOrganisation(mongo, orgId, [
      { name: 'loop', url: `https://localhost:${loopback.port}/audit`, secret: 's' },
      { name: 'plain', url: 'http://siem.example.com/audit', secret: 's' },
    ]);
    const event = await storeAuditEvent(collections, orgId);
    expect((await producer.auditFanout({ orgId, eventId: event._id })).ok).toBe(true);
    await waitFor(
      'two dead letters',
      async () => (await listDeadLetters(collections, { orgId })).length === 2,
      {
        timeoutMs: 20_000,
      },
    );
    const letters = await listDeadLetters(collections, { orgId });
    expect(
      Object.fromEntries(letters.map((l) => [l.sink, [l.reason, l.attempts, l.lastStatusCode]])),
    ).toEqual({
      loop: ['egress_address', 1, null],
      plain: ['egress_scheme', 1, null],
    });
    for (const letter of letters)
      expect(letter.lastError).not.toMatch(/banner|ECONNREFUSED|127\.0\.0\.1|::1/);
    expect(loopback.received()).toBe(receivedBefore);
  });
});
