import helmet from '@fastify/helmet';
import { loggerOptions } from '@scimbridge/logger';
import { opsRoutes, type ReadinessCheck } from '@scimbridge/telemetry';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface AppDependencies {
  registry: Registry;
  readiness: ReadinessCheck[];
  logLevel?: string;
}

/** The api's HTTP application: ops endpoints now; the SCIM routes under /scim/v2 are registered here as they land. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions({ service: 'scim-api', level: deps.logLevel ?? 'info' }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
  });
  await app.register(helmet, { contentSecurityPolicy: false });
  await app.register(opsRoutes, { registry: deps.registry, readiness: deps.readiness });
  return app;
}
