import { randomUUID } from 'node:crypto';
import { JobProducer } from '@scimbridge/jobs';
import { detectStoreProfile, ensureStoreIndexes } from '@scimbridge/store';
import { insideDatabaseTime, recordQueryShapes } from '@scimbridge/telemetry';
import {
  applyOrganisation,
  ensureTenancyIndexes,
  issueToken,
  type OrganisationSettingsInput,
} from '@scimbridge/tenancy';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { inject } from 'vitest';
import { buildApp, type AppDependencies } from '../src/index.js';

export const SCIM = 'application/scim+json';

export interface Harness {
  app: FastifyInstance;
  connection: Connection;
  redis: Redis;
  jobs: JobProducer;
  registry: Registry;
  /** Creates an organisation with settings and returns a bearer token for it. */
  organisation(
    settings?: Partial<OrganisationSettingsInput>,
    orgId?: string,
  ): Promise<{ orgId: string; token: string }>;
  close(): Promise<void>;
}

/** An api instance on its own database (or `dbName`, to share it with api processes) and queue prefix. */
export async function startHarness(
  overrides: Partial<AppDependencies> = {},
  dbName = `api_${randomUUID().slice(0, 8)}`,
): Promise<Harness> {
  const connection = await mongoose
    .createConnection(inject('mongodbUri'), {
      dbName,
      // Lets tests count the database commands a request makes (the driver's command monitoring).
      monitorCommands: true,
    })
    .asPromise();
  // The query-shape audit (docs/query-shapes.md) records what the app sends while serving a request, not what
  // the test itself reads or seeds on the same connection.
  // Tagged with the app's store profile, so the audit checks what MongoDB gets (docs/query-shapes.md).
  const storeProfile = overrides.storeProfile ?? (await detectStoreProfile(connection));
  recordQueryShapes(connection.getClient(), {
    service: 'scim-api (in-process)',
    include: insideDatabaseTime,
    profile: storeProfile.server,
  });
  await ensureTenancyIndexes(connection);
  await ensureStoreIndexes(connection);
  const redis = new Redis(inject('redisUrl'), { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const jobs = new JobProducer({
    connection: new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 }),
    prefix: `test-${randomUUID().slice(0, 8)}`,
  });
  const registry = new Registry();
  const app = await buildApp({
    registry,
    readiness: [],
    logLevel: 'silent',
    connection,
    redis,
    jobs,
    ...overrides,
    storeProfile,
  });
  return {
    app,
    connection,
    redis,
    jobs,
    registry,
    async organisation(settings = {}, orgId = `org-${randomUUID().slice(0, 8)}`) {
      await applyOrganisation(
        connection,
        orgId,
        { displayName: orgId, rateLimit: { requestsPerSecond: 10_000, burst: 10_000 }, ...settings },
        redis,
      );
      const { token } = await issueToken(connection, redis, orgId);
      return { orgId, token };
    },
    async close() {
      await app.close();
      await jobs.close();
      redis.disconnect();
      await connection.dropDatabase();
      await connection.close();
    },
  };
}

/** A SCIM client bound to one token, through fastify.inject. */
export function client(app: FastifyInstance, token: string) {
  const send = (
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': SCIM }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    get: (url: string, headers?: Record<string, string>) => send('GET', url, undefined, headers),
    post: (url: string, body: unknown, headers?: Record<string, string>) => send('POST', url, body, headers),
    put: (url: string, body: unknown, headers?: Record<string, string>) => send('PUT', url, body, headers),
    patch: (url: string, body: unknown, headers?: Record<string, string>) =>
      send('PATCH', url, body, headers),
    delete: (url: string, headers?: Record<string, string>) => send('DELETE', url, undefined, headers),
    send,
  };
}

export type Client = ReturnType<typeof client>;

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export function patchOp(...Operations: unknown[]) {
  return { schemas: [PATCH_OP], Operations };
}

export function newUser(userName: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER],
    userName,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: 'Test User',
    active: true,
    ...extra,
  };
}
