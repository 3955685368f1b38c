import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { httpMetrics } from './http-metrics.js';

/** A named dependency check for readiness, e.g. MongoDB ping or Redis PING. Rejects or returns false when down. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
  /**
   * False for a dependency the service works without (Redis for the api: limits, locks and enqueueing fail open):
   * while it fails the service is Ready but `degraded`. Default true.
   */
  required?: boolean;
}

export interface OpsRoutesOptions {
  registry: Registry;
  /** Checked on every /readyz; liveness (/healthz) never depends on them, so a database blip restarts nothing. */
  readiness?: ReadinessCheck[];
  /** Extra condition for readiness, e.g. the controller's informer has synced. */
  ready?: () => boolean;
  /** Facts about the running service added to every /readyz body (e.g. the api's `store` profile). */
  info?: Record<string, unknown>;
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

  const checks = options.readiness ?? [];
  const up = new Map<string, boolean>();
  const dependencyUp = new Gauge({
    name: 'scimbridge_dependency_up',
    help: 'Whether a dependency answered its last check (1) or not (0); required="false" ones only degrade the service.',
    labelNames: ['dependency', 'required'],
    registers: [options.registry],
    // Scrapes check too, so the gauge is current without a readiness probe.
    collect: async () => void (await evaluate()),
  });

  /** Runs every check; records, logs (on a change only) and returns the results. */
  async function evaluate() {
    const results = await Promise.all(
      checks.map(async ({ name, check, required = true }) => {
        let ok: boolean;
        try {
          ok = await withTimeout(check(), 2_000);
        } catch {
          ok = false;
        }
        dependencyUp.set({ dependency: name, required: String(required) }, ok ? 1 : 0);
        const before = up.get(name);
        up.set(name, ok);
        if (before !== undefined && before !== ok) {
          if (ok) app.log.info({ dependency: name }, `${name} reachable again`);
          else if (required) app.log.error({ dependency: name }, `${name} unreachable: not ready`);
          else app.log.warn({ dependency: name }, `${name} unreachable: serving degraded`);
        }
        return { name, ok, required };
      }),
    );
    return results;
  }

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const results = await evaluate();
    const extra = options.ready ? options.ready() : true;
    const ok = !closing && extra && results.every((r) => r.ok || !r.required);
    const degraded = results.filter((r) => !r.ok && !r.required).map((r) => r.name);
    const status = !ok ? 'unavailable' : degraded.length > 0 ? 'degraded' : 'ok';
    const body = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'failing']));
    return reply.code(ok ? 200 : 503).send({ status, checks: body, degraded, closing, ...options.info });
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
