import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  HTTP_DURATION_BUCKETS,
  createMetricsRegistry,
  httpMetrics,
  identityProviderClient,
  opsRoutes,
} from '../src/index.js';

async function appWithMetrics() {
  const registry = createMetricsRegistry('test');
  const app = Fastify();
  await app.register(opsRoutes, { registry });
  app.get('/scim/v2/Users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.post('/scim/v2/Users', async (_request, reply) => reply.code(429).send({}));
  return { app, registry };
}

async function samples(registry: ReturnType<typeof createMetricsRegistry>, name: string) {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values as { labels: Record<string, string>; value: number; metricName?: string }[];
}

describe('httpMetrics (registered by opsRoutes, or on its own)', () => {
  it('labels requests with the route template, method and status code, never the raw path', async () => {
    const { app, registry } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/scim/v2/Users/2819c223-7f76-453a-919d-413861904646' });
    await app.inject({ method: 'POST', url: '/scim/v2/Users' });
    const counts = (await samples(registry, 'http_server_request_duration_seconds')).filter((s) =>
      s.metricName?.endsWith('_count'),
    );
    expect(counts.map((s) => s.labels)).toEqual([
      { http_request_method: 'GET', http_route: '/scim/v2/Users/:id', http_response_status_code: '200' },
      { http_request_method: 'POST', http_route: '/scim/v2/Users', http_response_status_code: '429' },
    ]);
  });

  it('uses the OTel semantic-convention buckets', async () => {
    const { app, registry } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/scim/v2/Users/x' });
    const buckets = (await samples(registry, 'http_server_request_duration_seconds'))
      .filter((s) => s.metricName?.endsWith('_bucket'))
      .map((s) => s.labels.le);
    expect(buckets).toEqual([...HTTP_DURATION_BUCKETS, '+Inf']);
  });

  it('groups unknown paths as unmatched and unknown methods as _OTHER, so labels stay bounded', async () => {
    const { app, registry } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/wp-admin/1' });
    await app.inject({ method: 'GET', url: '/wp-admin/2' });
    await app.inject({ method: 'PROPFIND' as 'GET', url: '/scim/v2/Users/x' });
    const counts = (await samples(registry, 'http_server_request_duration_seconds')).filter((s) =>
      s.metricName?.endsWith('_count'),
    );
    expect(
      counts.find((s) => s.labels.http_route === 'unmatched' && s.labels.http_request_method === 'GET')
        ?.value,
    ).toBe(2);
    expect(counts.some((s) => s.labels.http_request_method === '_OTHER')).toBe(true);
  });

  it('leaves probes and scrapes out and returns the in-flight gauge to zero', async () => {
    const { app, registry } = await appWithMetrics();
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/metrics' });
    await app.inject({ method: 'GET', url: '/scim/v2/Users/x' });
    const routes = (await samples(registry, 'http_server_request_duration_seconds')).map(
      (s) => s.labels.http_route,
    );
    expect(routes).not.toContain('/healthz');
    expect(routes).not.toContain('/metrics');
    const active = await samples(registry, 'http_server_active_requests');
    expect(active.every((s) => s.value === 0)).toBe(true);
  });

  it('counts each request once when a service also registers httpMetrics itself', async () => {
    const { app, registry } = await appWithMetrics();
    await app.register(httpMetrics, { registry });
    await app.inject({ method: 'GET', url: '/scim/v2/Users/x' });
    const count = (await samples(registry, 'http_server_request_duration_seconds')).find((s) =>
      s.metricName?.endsWith('_count'),
    );
    expect(count?.value).toBe(1);
  });

  it('can be registered on several instances sharing one registry', async () => {
    const registry = createMetricsRegistry('shared');
    for (let i = 0; i < 2; i += 1) {
      const app = Fastify();
      await app.register(httpMetrics, { registry });
      app.get('/x', async () => 'ok');
      await app.inject({ method: 'GET', url: '/x' });
    }
    const count = (await samples(registry, 'http_server_request_duration_seconds')).find((s) =>
      s.metricName?.endsWith('_count'),
    );
    expect(count?.value).toBe(2);
  });

  it('counts requests by identity provider, from a bounded set of client names', async () => {
    const { app, registry } = await appWithMetrics();
    for (const ua of ['Okta SCIM Client 1.0.0', 'Okta SCIM Client 1.0.0', 'curl/8.5.0', '']) {
      await app.inject({ method: 'GET', url: '/scim/v2/Users/x', headers: { 'user-agent': ua } });
    }
    await app.inject({ method: 'GET', url: '/healthz', headers: { 'user-agent': 'kube-probe/1.36' } });
    const byClient = Object.fromEntries(
      (await samples(registry, 'http_server_client_requests_total')).map((s) => [s.labels.client, s.value]),
    );
    expect(byClient).toEqual({ okta: 2, other: 1, none: 1 });
  });
});

describe('identityProviderClient', () => {
  it.each([
    ['Okta SCIM Client 1.0.0', 'okta'],
    ['Microsoft.Azure.SCIM.Provisioning/1.0', 'entra'],
    ['OneLogin SCIM', 'onelogin'],
    ['JumpCloud SCIM 2.0', 'jumpcloud'],
    ['Google-Workspace-Provisioning', 'google'],
    [undefined, 'none'],
    ['python-requests/2.32', 'other'],
  ])('%s → %s', (userAgent, client) => {
    expect(identityProviderClient(userAgent)).toBe(client);
  });
});
