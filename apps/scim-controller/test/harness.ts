import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startController, type Controller, type ControllerOptions } from '../src/controller.js';
import { OwnershipPolicy } from '../src/tenancy/ownership-policy.js';
import { TenancyBackend } from '../src/tenancy/tenancy-backend.js';
import type { Condition, ScimTenant } from '../src/api/scim-tenant.js';
import { TokenAuthenticator } from '@scimbridge/tenancy';
import { waitFor } from '@scimbridge/testing';
import { getTenant, type Kube } from './kube.js';

export interface TestController {
  controller: Controller;
  /** What every api replica runs: token → organisation, cached, dropped on a revocation broadcast. */
  authenticator: TokenAuthenticator;
  connection: Connection;
  redis: Redis;
  registry: Registry;
  stop(): Promise<void>;
}

/**
 * The controller in-process, scoped to one namespace, against its own MongoDB database. Unless a test states
 * its own, the policy lets that namespace claim and adopt any organisation: each test has a fresh database,
 * so no other team's organisation is in reach.
 */
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
  const backend = new TenancyBackend(connection, redis);
  await backend.ensureIndexes();
  const authenticator = new TokenAuthenticator(connection, redis);
  await authenticator.start();
  const controller = await startController({
    kubeConfig: kube.kc,
    backend,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    registry,
    dependencyRequeueMs: 300,
    policy: OwnershipPolicy.parse([{ namespace: options.namespace, organisationIds: ['*'], adopt: true }]),
    ...options,
    namespaces: options.namespaces ?? [options.namespace],
  });
  return {
    controller,
    authenticator,
    connection,
    redis,
    registry,
    async stop() {
      await controller.stop();
      await authenticator.close();
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

/** The organisation a bearer token authenticates, through the api's own authenticator (with its cache). */
export async function organisationOfToken(
  authenticator: TokenAuthenticator,
  token: string,
): Promise<string | null> {
  const result = await authenticator.authenticate(token);
  return result.ok ? result.orgId : null;
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
