import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startController, type Controller, type ControllerOptions } from '../src/controller.js';
import { MongoTenantBackend } from '../src/tenancy/mongo-backend.js';
import type { Condition, ScimTenant } from '../src/api/scim-tenant.js';
import { waitFor } from '@scimbridge/testing';
import { getTenant, type Kube } from './kube.js';

export interface TestController {
  controller: Controller;
  connection: Connection;
  redis: Redis;
  registry: Registry;
  stop(): Promise<void>;
}

/** The controller in-process, scoped to one namespace, against its own MongoDB database. */
export async function startTestController(
  kube: Kube,
  options: {
    namespace: string;
    mongoUri: string;
    redisUrl: string;
    database: string;
  } & Partial<ControllerOptions>,
): Promise<TestController> {
  const connection = await mongoose
    .createConnection(options.mongoUri, {
      dbName: options.database,
      serverSelectionTimeoutMS: 1_500,
      bufferCommands: false,
    })
    .asPromise();
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
  const registry = new Registry();
  const controller = await startController({
    kubeConfig: kube.kc,
    backend: new MongoTenantBackend(connection, redis),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    registry,
    dependencyRequeueMs: 300,
    ...options,
  });
  return {
    controller,
    connection,
    redis,
    registry,
    async stop() {
      await controller.stop();
      redis.disconnect();
      await connection.close().catch(() => undefined);
    },
  };
}

export const condition = (t: ScimTenant, type: Condition['type']) =>
  t.status?.conditions?.find((c) => c.type === type);

/** Waits until the tenant's Ready condition has this status (and reason), for its current generation. */
export async function waitForReady(
  kube: Kube,
  namespace: string,
  name: string,
  status: 'True' | 'False' = 'True',
  reason?: string,
  timeoutMs = 30_000,
): Promise<ScimTenant> {
  let last: ScimTenant | undefined;
  await waitFor(
    `${namespace}/${name} Ready=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      last = await getTenant(kube, namespace, name);
      const ready = condition(last, 'Ready');
      return (
        ready?.status === status &&
        (reason === undefined || ready.reason === reason) &&
        last.status?.observedGeneration === last.metadata.generation
      );
    },
    { timeoutMs, intervalMs: 100 },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

/** The organisation a bearer token authenticates, the way the api looks it up (sha256 → tokens). */
export async function organisationOfToken(connection: Connection, token: string): Promise<string | null> {
  const hash = createHash('sha256').update(token).digest('hex');
  const doc = await connection.collection<{ orgId: string }>('tokens').findOne({ hash });
  return doc?.orgId ?? null;
}

export async function secretToken(
  kube: Kube,
  namespace: string,
  name: string,
  key = 'token',
): Promise<string> {
  const secret = await kube.core.readNamespacedSecret({ namespace, name });
  return Buffer.from(secret.data![key]!, 'base64').toString();
}
