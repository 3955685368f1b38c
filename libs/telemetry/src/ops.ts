import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { httpMetrics } from './http-metrics.js';

/** A named dependency check for readiness, e.g. MongoDB ping or Redis PING. Rejects or returns false when down. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface OpsRoutesOptions {
  registry: Registry;
  /** Checked on every /readyz; liveness (/healthz) never depends on them, so a database blip restarts nothing. */
  readiness?: ReadinessCheck[];
  /** Extra condition for readiness, e.g. the controller's informer has synced. */
  ready?: () => boolean;
  /** RED metrics for every route of the instance (httpMetrics); on unless false. */
  httpMetrics?: boolean;
}

/**
 * /healthz (process alive), /readyz (dependencies reachable), /metrics (Prometheus text format), and the HTTP RED
 * metrics of every route on the same instance, so a service gets them by registering this plugin alone.
 */
export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app: FastifyInstance, options) => {
  if (options.httpMetrics !== false) await app.register(httpMetrics, { registry: options.registry });
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const results = await Promise.all(
      (options.readiness ?? []).map(async ({ name, check }) => {
        try {
          return { name, ok: await withTimeout(check(), 2_000) };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const extra = options.ready ? options.ready() : true;
    const ok = !closing && extra && results.every((r) => r.ok);
    const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'failing']));
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks, closing });
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
// Not encapsulated (like fastify-plugin), so the RED hooks see the routes the service registers beside it.
Object.assign(opsRoutes, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@scimbridge/telemetry/ops-routes',
});
