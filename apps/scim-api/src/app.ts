import helmet from '@fastify/helmet';
import { loggerOptions } from '@scimbridge/logger';
import { createRegistry, ScimError, type RefusalReason, type SchemaRegistry } from '@scimbridge/scim-core';
import {
  credentialById,
  describeStoreProfile,
  detectStoreProfile,
  Outbox,
  type StoreProfile,
} from '@scimbridge/store';
import {
  FederationVerifier,
  PendingBroadcastRelay,
  RequestLogWriter,
  TokenAuthenticator,
  type FederationVerifierOptions,
  type TokenAuthenticatorOptions,
} from '@scimbridge/tenancy';
import { opsRoutes, withDatabaseTime, type DatabaseTime, type ReadinessCheck } from '@scimbridge/telemetry';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Registry } from 'prom-client';
import { AuthFailureAudit, eventDispatch, type JobSink } from './audit.js';
import { FailedAuthenticationLimiter, type AddressLimitOptions } from './http/address-limit.js';
import { authHook } from './http/auth.js';
import { registerScimContentTypes } from './http/content-types.js';
import { registerErrorHandling, sendScimError } from './http/errors.js';
import { KeyedLock } from './http/keyed-lock.js';
import { UserLimitLock } from './resources/user-limit.js';
import { apiMetrics, type ApiMetricsOptions } from './http/metrics.js';
import { OrganisationRateLimiter } from './http/rate-limit.js';
import { requestLogHook } from './http/request-log.js';
import { DEFAULT_LIMITS, type ApiLimits } from './limits.js';
import { buildLifecycles, builtInKinds, type ResourceKind } from './resources/registry.js';
import { bulkRoute } from './routes/bulk.js';
import { discoveryRoutes } from './routes/discovery.js';
import { jwksRoute } from './routes/jwks.js';
import { tokenEndpoint } from './routes/oauth-token.js';
import { resourceRoutes } from './routes/resources.js';
import { rootSearchRoute } from './routes/search.js';

export interface AppDependencies {
  registry: Registry;
  readiness: ReadinessCheck[];
  logLevel?: string;
  connection: Connection;
  /**
   * What the MongoDB-wire server can be relied on for (docs/mongodb.md), decided once; default: detected from
   * the connection's `buildInfo`. Named in /readyz.
   */
  storeProfile?: StoreProfile;
  /** Rate limits and revocation broadcasts; requests must not wait on reconnects (enableOfflineQueue: false). */
  redis: Redis;
  /** Where jobs go; null runs without a queue (the worker's relay dispatches the stored audit events). */
  jobs: JobSink;
  publicBaseUrl?: string;
  limits?: ApiLimits;
  auth?: TokenAuthenticatorOptions;
  /** JWKS fetch and assertion checks of workload identity federation (the token endpoint). */
  federation?: FederationVerifierOptions;
  /** Linked from /ServiceProviderConfig's authenticationSchemes (documentationUri), e.g. the idp-setup page. */
  documentationUrl?: string;
  /** How often aggregated auth failures are written (default one minute). */
  authFailureFlushMs?: number;
  /** Failed authentications per client address before its lookups are refused (default 20 a minute). */
  addressLimit?: AddressLimitOptions;
  /** How often this replica re-publishes revocations whose broadcast failed elsewhere (default 1 s). */
  broadcastRelayMs?: number;
  /** How long the api caches the SCIM event signing keys it publishes (default 30 s). */
  eventKeysCacheMs?: number;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For names the client address (the ingress). */
  trustProxy?: boolean | string;
  /**
   * Resource types beyond Users and Groups (docs/api.md "Adding a resource type"): registers their schemas in
   * the registry and returns their kinds; their routes, `/.search` and `/Bulk` entries follow.
   */
  extraResourceKinds?: (registry: SchemaRegistry) => ResourceKind[];
  /** The per-organisation request log (docs/api.md "Request log"); defaults below. */
  requestLog?: RequestLogOptions;
  /** The opt-in `org`-labelled metrics (METRICS_ORG_LABEL); off by default. */
  orgLabel?: ApiMetricsOptions['orgLabel'];
}

export interface RequestLogOptions {
  /** REQUEST_LOG_PER_ORG_PER_MINUTE (default 600). */
  perOrgPerMinute?: number;
  /** REQUEST_LOG_RETENTION_DAYS (default 30). */
  retentionDays?: number;
  /** REQUEST_LOG_MAX_BUFFERED (default 20,000 records). */
  maxBuffered?: number;
  /** How often buffered records are written (default 1 s). */
  flushMs?: number;
}

export const DEFAULT_REQUEST_LOG = { perOrgPerMinute: 600, retentionDays: 30, maxBuffered: 20_000 } as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    resource?: string;
    operation?: string;
  }
  interface FastifyRequest {
    databaseTime?: DatabaseTime;
  }
  interface FastifyInstance {
    /** The request log's writer: tests flush it (`app.requestLog.flush()`) instead of waiting for the timer. */
    requestLog: RequestLogWriter;
  }
}

/** The api's HTTP application: ops endpoints, the OAuth token endpoint (/oauth/token) and SCIM 2.0 under /scim/v2. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    logger: loggerOptions({ service: 'scim-api', level: deps.logLevel ?? 'info' }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    bodyLimit: limits.maxPayloadSize,
    ...(deps.trustProxy === undefined ? {} : { trustProxy: deps.trustProxy }),
  });
  await app.register(helmet, { contentSecurityPolicy: false });
  const storeProfile = deps.storeProfile ?? (await detectStoreProfile(deps.connection));
  const authenticator = new TokenAuthenticator(deps.connection, deps.redis, {
    lastUsedFilter: (token) => credentialById(storeProfile, token.tokenId, token.hash),
    ...deps.auth,
  });
  await authenticator.start();
  const broadcastRelay = new PendingBroadcastRelay(deps.connection, deps.redis, deps.broadcastRelayMs);
  broadcastRelay.start();
  await app.register(opsRoutes, {
    registry: deps.registry,
    info: { store: describeStoreProfile(storeProfile) },
    readiness: [
      ...deps.readiness,
      // Without the broadcast a revocation takes effect through the 1 s cache bound: slower, still correct.
      { name: 'revocation-broadcast', required: false, check: async () => authenticator.subscribed() },
    ],
  });
  const metrics = apiMetrics(deps.registry, deps.orgLabel ? { orgLabel: deps.orgLabel } : {});
  const countRefusal = (reason: RefusalReason) => metrics.refused.inc({ reason });
  registerErrorHandling(app, countRefusal);
  registerScimContentTypes(app, limits.maxPayloadSize);
  const failures = new AuthFailureAudit(deps.connection, app.log, deps.authFailureFlushMs);
  const requestLog = new RequestLogWriter(deps.connection, {
    perOrgPerMinute: deps.requestLog?.perOrgPerMinute ?? DEFAULT_REQUEST_LOG.perOrgPerMinute,
    retentionDays: deps.requestLog?.retentionDays ?? DEFAULT_REQUEST_LOG.retentionDays,
    maxBuffered: deps.requestLog?.maxBuffered ?? DEFAULT_REQUEST_LOG.maxBuffered,
    ...(deps.requestLog?.flushMs ? { flushMs: deps.requestLog.flushMs } : {}),
    onDropped: (count, cause) => metrics.requestLogDropped.inc({ cause }, count),
    onWritten: (count) => metrics.requestLogWritten.inc(count),
    onError: (error) =>
      app.log.warn(
        { err: (error as Error).message },
        'request log write failed; its records are counted as dropped',
      ),
  });
  app.decorate('requestLog', requestLog);
  app.addHook('onClose', async () => {
    await broadcastRelay.stop();
    await authenticator.close();
    await failures.close();
    await requestLog.close();
  });

  const registry = createRegistry();
  const locks = new KeyedLock();
  const userLimit = new UserLimitLock(deps.redis, locks, {
    warn: (details, message) => app.log.warn(details, message),
  });
  const kinds = [...builtInKinds(userLimit), ...(deps.extraResourceKinds?.(registry) ?? [])];
  const outbox = new Outbox(
    deps.connection,
    eventDispatch(deps.jobs, app.log),
    kinds.map((kind) => kind.collection),
    storeProfile,
  );
  const services = buildLifecycles(registry, kinds, deps.connection, outbox, { locks, outbox }, storeProfile);
  // One failed-authentication budget per address for the SCIM api and the token endpoint together.
  const addressLimiter = new FailedAuthenticationLimiter(deps.redis, deps.addressLimit);

  await app.register(async (oauth) =>
    tokenEndpoint(oauth, {
      connection: deps.connection,
      redis: deps.redis,
      authenticator,
      verifier: new FederationVerifier(deps.federation),
      addressLimiter,
      metrics,
    }),
  );

  // Public keys of the SCIM events the worker signs (RFC 9967 SETs); unauthenticated.
  await app.register(async (wellKnown) => jwksRoute(wellKnown, deps.connection, deps.eventKeysCacheMs));

  await app.register(
    async (scim) => {
      // Every MongoDB command a request issues (authentication included) adds to its database time.
      scim.addHook('onRequest', (request, _reply, done) => {
        request.databaseTime = { seconds: 0, commands: 0 };
        withDatabaseTime(request.databaseTime, done);
      });
      scim.addHook(
        'onRequest',
        authHook({
          authenticator,
          rateLimiter: new OrganisationRateLimiter(deps.redis),
          failures,
          addressLimiter,
          metrics,
          limits,
          ...(deps.publicBaseUrl ? { publicBaseUrl: deps.publicBaseUrl } : {}),
        }),
      );
      scim.addHook('onResponse', async (request, reply) => {
        const { resource, operation } = request.routeOptions.config;
        if (resource && operation && request.databaseTime)
          metrics.databaseTime.observe({ resource, operation }, request.databaseTime.seconds);
        if (request.requestLog)
          metrics.orgRequest(request.requestLog.orgId, reply.statusCode < 400 ? 'success' : 'failure');
        if (!resource || !operation || !request.scim) return;
        const outcome =
          reply.statusCode >= 500 ? 'server_error' : reply.statusCode >= 400 ? 'client_error' : 'success';
        metrics.operations.inc({ resource, operation, outcome });
      });
      scim.addHook('onResponse', requestLogHook(requestLog));
      discoveryRoutes(scim, registry, deps.documentationUrl);
      for (const service of services) resourceRoutes(scim, service);
      rootSearchRoute(scim, services);
      bulkRoute(scim, services, countRefusal);
      scim.all('/Me', { config: { resource: 'Me', operation: 'any' } }, async (_request, reply) =>
        sendScimError(
          reply,
          new ScimError(501, '/Me is not supported: tokens identify an organisation, not a user.'),
        ),
      );
    },
    { prefix: '/scim/v2' },
  );
  return app;
}
