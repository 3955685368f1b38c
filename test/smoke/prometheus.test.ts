import { createServer, type Server } from 'node:http';
import { startPrometheus, type PrometheusServer } from '@scimbridge/testing';
import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';

describe('Prometheus (Debian package)', () => {
  let prometheus: PrometheusServer | undefined;
  let server: Server | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    server?.close();
  });

  it('scrapes a prom-client endpoint and answers a PromQL query with the sample', async () => {
    const registry = new Registry();
    new Counter({ name: 'smoke_events_total', help: 'events', registers: [registry] }).inc(7);
    server = createServer((_req, res) => {
      void registry.metrics().then((body) => {
        res.setHeader('content-type', registry.contentType);
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };

    prometheus = await startPrometheus({ targets: [`127.0.0.1:${address.port}`] });
    await expect
      .poll(async () => (await prometheus!.query('smoke_events_total'))[0]?.value[1], {
        timeout: 20_000,
        interval: 500,
      })
      .toBe('7');
    const [target] = await prometheus.targets();
    expect(target?.health).toBe('up');
  });
});
