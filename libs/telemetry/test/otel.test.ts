import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Runs the built package the way the chart does (NODE_OPTIONS=--import=@scimbridge/telemetry/otel), so it
// needs `pnpm exec turbo run build` first, as every process-level test here does.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/traced-service.mjs', import.meta.url));

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  scope: string;
}

/** A real OTLP/HTTP receiver (JSON encoding): what an OpenTelemetry Collector's otlp receiver accepts. */
function startOtlpReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('application/json')) {
        const payload = JSON.parse(body);
        for (const rs of payload.resourceSpans ?? []) {
          const attributes = rs.resource.attributes as { key: string; value: { stringValue?: string } }[];
          const service = attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind,
                scope: ss.scope?.name ?? '',
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans }),
    ),
  );
}

function startService(role: 'api' | 'worker', env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    cwd: packageDir,
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: '--import=@scimbridge/telemetry/otel',
      OTEL_SERVICE_NAME: `fixture-${role}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      ROLE: role,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exit };
}

describe('OpenTelemetry bootstrap (node --import @scimbridge/telemetry/otel)', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let api: ReturnType<typeof startService>;
  let worker: ReturnType<typeof startService>;
  let apiUrl: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const queue = `otel-${Date.now()}`;
    const common = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      MONGODB_URI: inject('mongodbUri').replace(/\/?(\?|$)/, '/telemetry_otel$1'),
      REDIS_URL: inject('redisUrl'),
      QUEUE: queue,
    };
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    api = startService('api', { ...common, PORT: String(apiPort) });
    worker = startService('worker', { ...common, PORT: String(workerPort) });
    children.push(api.child, worker.child);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    for (const [proc, port] of [
      [api, apiPort],
      [worker, workerPort],
    ] as const) {
      await waitFor(`fixture on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
        timeoutMs: 30_000,
        isAlive: () => proc.child.exitCode === null,
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${proc.lines.join('\n')}`);
      });
    }
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  it('exports one trace from the HTTP request through MongoDB and the queue into the worker, with trace ids in the logs', async () => {
    const response = await fetch(`${apiUrl}/things/widget`, { method: 'POST' });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };

    await waitFor(
      'worker consumer span',
      async () => receiver.spans.some((s) => s.service === 'fixture-worker' && s.kind === 5),
      { timeoutMs: 20_000 },
    );
    const server = receiver.spans.find(
      (s) => s.service === 'fixture-api' && s.kind === 2 && s.scope.includes('http'),
    )!;
    expect(server, JSON.stringify(receiver.spans, null, 1)).toBeDefined();
    const trace = receiver.spans.filter((s) => s.traceId === server.traceId);
    const describe = (s: ReceivedSpan) => `${s.service} ${s.scope} ${s.name}`;
    const names = trace.map(describe);
    // Fastify's request and handler spans, the MongoDB insert, the BullMQ producer and consumer spans and
    // the worker's MongoDB update all share the request's trace id.
    expect(
      names.some((n) => /fixture-api .*fastify/.test(n)),
      names.join('\n'),
    ).toBe(true);
    expect(
      names.some((n) => /fixture-api .*mongodb/.test(n)),
      names.join('\n'),
    ).toBe(true);
    expect(
      trace.some((s) => s.service === 'fixture-api' && s.kind === 4),
      names.join('\n'),
    ).toBe(true);
    expect(
      trace.some((s) => s.service === 'fixture-worker' && s.kind === 5),
      names.join('\n'),
    ).toBe(true);
    expect(
      names.some((n) => /fixture-worker .*mongodb/.test(n)),
      names.join('\n'),
    ).toBe(true);
    // Probes are not traced.
    expect(receiver.spans.some((s) => /readyz|healthz/.test(s.name))).toBe(false);

    const json = (lines: string[]) =>
      lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
    const stored = json(api.lines).find((l) => l.msg === 'thing stored' && l.thing === id);
    expect(stored?.trace_id).toBe(server.traceId);
    expect(stored?.span_id).toMatch(/^[0-9a-f]{16}$/);
    await waitFor('worker log line', async () => json(worker.lines).some((l) => l.msg === 'thing processed'));
    expect(json(worker.lines).find((l) => l.msg === 'thing processed')?.trace_id).toBe(server.traceId);
  });

  it('serves RED and MongoDB metrics with route templates, never raw paths', async () => {
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /http_server_request_duration_seconds_bucket\{le="\+Inf",service="fixture-api",http_request_method="POST",http_route="\/things\/:name",http_response_status_code="201"\} 1/,
    );
    expect(metrics).not.toMatch(/http_route="\/things\/widget"/);
    expect(metrics).toMatch(
      /db_client_operation_duration_seconds_count\{service="fixture-api",db_system_name="mongodb",db_operation_name="insert",db_collection_name="things",outcome="success"\} [1-9]/,
    );
  });

  it('flushes spans and exits 0 on SIGTERM', async () => {
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await api.exit).toBe(0);
    expect(await worker.exit).toBe(0);
    expect(api.lines.join('\n')).toMatch(/shutdown complete/);
  });
});
