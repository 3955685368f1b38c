import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { identityProviderClient } from './client.js';

/** OpenTelemetry semantic-convention buckets for http.server.request.duration, in seconds. */
export const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

const MEASURED = 'scimbridgeHttpMetrics';

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
]);

export interface HttpMetricsOptions {
  registry: Registry;
  /**
   * Route templates not measured: probes and scrapes would dominate the RED figures and the SLO.
   * Default: /healthz, /readyz, /metrics.
   */
  ignoreRoutes?: string[];
}

/**
 * RED metrics for every route of the Fastify instance it is registered on (not encapsulated):
 * `http_server_request_duration_seconds{http_request_method, http_route, http_response_status_code}` and
 * `http_server_active_requests{http_request_method}`, named as OTel semconv's http.server.* exported to Prometheus.
 * The route is the template (`/scim/v2/Users/:id`), never the raw URL; requests matching no route are `unmatched`.
 * The full status code (not its class) is kept so the SLO can tell 429 (tenant over quota) from 503 (load shedding).
 * `http_server_client_requests_total{client}` counts the same requests by identity provider (from User-Agent).
 */
export const httpMetrics: FastifyPluginAsync<HttpMetricsOptions> = async (app, options) => {
  // Registered once per instance even if both opsRoutes and the service register it.
  if (app.hasDecorator(MEASURED)) return;
  app.decorate(MEASURED, true);
  const { registry } = options;
  const ignored = new Set(options.ignoreRoutes ?? ['/healthz', '/readyz', '/metrics']);
  const duration = metric(
    registry,
    'http_server_request_duration_seconds',
    () =>
      new Histogram({
        name: 'http_server_request_duration_seconds',
        help: 'Duration of HTTP server requests (OTel http.server.request.duration).',
        labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
        buckets: HTTP_DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  const active = metric(
    registry,
    'http_server_active_requests',
    () =>
      new Gauge({
        name: 'http_server_active_requests',
        help: 'Number of HTTP server requests in flight (OTel http.server.active_requests).',
        labelNames: ['http_request_method'],
        registers: [registry],
      }),
  );

  const clients = metric(
    registry,
    'http_server_client_requests_total',
    () =>
      new Counter({
        name: 'http_server_client_requests_total',
        help: 'HTTP requests by identity-provider client (okta, entra, onelogin, jumpcloud, google, none, other), from User-Agent.',
        labelNames: ['client'],
        registers: [registry],
      }),
  );

  const started = new WeakMap<FastifyRequest, bigint>();
  const finish = (request: FastifyRequest, statusCode: number | undefined) => {
    const start = started.get(request);
    if (start === undefined) return;
    started.delete(request);
    const method = methodLabel(request.method);
    active.dec({ http_request_method: method });
    if (statusCode === undefined) return;
    clients.inc({ client: identityProviderClient(request.headers['user-agent']) });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    duration.observe(
      {
        http_request_method: method,
        http_route: request.routeOptions.url ?? 'unmatched',
        http_response_status_code: String(statusCode),
      },
      seconds,
    );
  };

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== undefined && ignored.has(request.routeOptions.url)) return;
    started.set(request, process.hrtime.bigint());
    active.inc({ http_request_method: methodLabel(request.method) });
  });
  app.addHook('onResponse', async (request, reply) => finish(request, reply.statusCode));
  // A client that hangs up never gets a response; it still leaves the in-flight gauge.
  app.addHook('onRequestAbort', async (request) => finish(request, undefined));
};
// Like fastify-plugin: the hooks apply to the whole instance, not only to routes inside this plugin.
Object.assign(httpMetrics, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@scimbridge/telemetry/http-metrics',
});

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** The registry's metric of that name, created once: several plugins or instances may share one registry. */
export function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
