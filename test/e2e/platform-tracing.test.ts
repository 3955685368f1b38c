import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The real api and worker, started the way the chart starts them (NODE_OPTIONS=--import the OTel bootstrap),
// export their spans to an OTLP/HTTP receiver in this test: one SCIM request must make one trace that runs
// through MongoDB and Redis into the worker's audit job.
const root = fileURLToPath(new URL('../..', import.meta.url));
const namespace = `tracing-${Date.now()}`;
const redisUrl = () => `${inject('redisUrl').replace(/\/\d*$/, '')}/8`;

interface ReceivedSpan {
  service: string;
  traceId: string;
  name: string;
  kind: number;
  scope: string;
}
const spans: ReceivedSpan[] = [];
let receiver: Server;
let receiverUrl: string;
const processes: { name: string; child: ChildProcess; lines: string[] }[] = [];
const ports = { api: 0, worker: 0, controller: 0 };

function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans?: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans?: {
              scope?: { name: string };
              spans?: { traceId: string; name: string; kind: number }[];
            }[];
          }[];
        };
        for (const rs of payload.resourceSpans ?? []) {
          const service =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                traceId: s.traceId,
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
    receiver.listen(0, '127.0.0.1', () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

function startService(
  app: 'scim-api' | 'scim-worker' | 'scim-controller',
  port: number,
  env: Record<string, string>,
) {
  // cwd = the app's package: NODE_OPTIONS' bare specifier resolves from its node_modules, as in the image.
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js'], {
    cwd: `${root}/apps/${app}`,
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      NODE_OPTIONS: '--import=@scimbridge/telemetry/otel',
      OTEL_SERVICE_NAME: app,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      MONGODB_URI: inject('mongodbUri').replace(/\/?(\?|$)/, '/platform_tracing$1'),
      REDIS_URL: redisUrl(),
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
  processes.push({ name: app, child, lines });
  return waitFor(`${app} ready`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 30_000,
    isAlive: () => child.exitCode === null,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${lines.join('\n')}`);
  });
}

/** The CRD, a namespace and a ScimTenant; resolves with the bearer token the controller issued for it. */
async function issueToken(): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  const crd = loadAllYaml(
    readFileSync(`${root}/k8s/crd/scimtenants.scimbridge.io.yaml`, 'utf8'),
  )[0] as V1CustomResourceDefinition;
  const crds = kc.makeApiClient(ApiextensionsV1Api);
  await crds.createCustomResourceDefinition({ body: crd }).catch((error: { code?: number }) => {
    if (error.code !== 409) throw error;
  });
  await waitFor('ScimTenant CRD established', async () => {
    const current = await crds.readCustomResourceDefinition({ name: crd.metadata!.name! });
    return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await startService('scim-controller', ports.controller, {
    KUBECONFIG: inject('kubeconfig'),
    WATCH_NAMESPACE: namespace,
    // The ownership policy: this namespace may claim any organisation (the test uses its own database).
    ORGANISATION_POLICY: JSON.stringify([{ namespace, organisationIds: ['*'] }]),
    LEADER_ELECTION: 'false',
    OTEL_SDK_DISABLED: 'true',
  });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'scimbridge.io',
    version: 'v1alpha1',
    namespace,
    plural: 'scimtenants',
    body: {
      apiVersion: 'scimbridge.io/v1alpha1',
      kind: 'ScimTenant',
      metadata: { name: 'traced' },
      spec: { organisationId: 'traced-org', displayName: 'Traced organisation' },
    },
  });
  let token = '';
  await waitFor('token Secret', async () => {
    const secret = await core
      .readNamespacedSecret({ namespace, name: 'traced-scim-token' })
      .catch(() => undefined);
    token = Buffer.from(secret?.data?.token ?? '', 'base64').toString();
    return token.startsWith('scimb_');
  });
  return token;
}

let token: string;

beforeAll(async () => {
  await startReceiver();
  ports.api = await freePort();
  ports.worker = await freePort();
  ports.controller = await freePort();
  token = await issueToken();
  await Promise.all([startService('scim-api', ports.api, {}), startService('scim-worker', ports.worker, {})]);
}, 180_000);

afterAll(async () => {
  for (const { child } of processes) if (child.exitCode === null) child.kill('SIGTERM');
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('tracing across the running services', () => {
  it('one SCIM request makes one trace: api → MongoDB → Redis → worker job → MongoDB, with trace ids in the logs', async () => {
    const response = await fetch(`http://127.0.0.1:${ports.api}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'traced.user@example.com',
        emails: [{ type: 'work', value: 'traced.user@example.com', primary: true }],
      }),
    });
    expect(response.status).toBe(201);

    const isRequestSpan = (s: ReceivedSpan) =>
      s.service === 'scim-api' && s.kind === 2 && s.name.includes('/scim/v2/Users');
    await waitFor('the api request span', async () => spans.some(isRequestSpan), { timeoutMs: 15_000 });
    const server = spans.find(isRequestSpan)!;
    const inTrace = () => spans.filter((s) => s.traceId === server.traceId);
    await waitFor(
      'a worker span in the same trace',
      async () => inTrace().some((s) => s.service === 'scim-worker'),
      { timeoutMs: 40_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${JSON.stringify(inTrace(), null, 1)}`);
    });
    const trace = inTrace();
    const described = trace.map((s) => `${s.service} ${s.scope} ${s.name}`).join('\n');
    expect(
      trace.some((s) => s.service === 'scim-api' && s.scope.includes('fastify')),
      described,
    ).toBe(true);
    expect(
      trace.some((s) => s.service === 'scim-api' && s.scope.includes('mongodb')),
      described,
    ).toBe(true);
    expect(
      trace.some((s) => s.service === 'scim-api' && s.scope.includes('ioredis')),
      described,
    ).toBe(true);
    expect(
      trace.some((s) => s.service === 'scim-worker' && s.scope.includes('mongodb')),
      described,
    ).toBe(true);

    const api = processes.find((p) => p.name === 'scim-api')!;
    const logged = api.lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { trace_id?: string })
      .filter((l) => l.trace_id === server.traceId);
    expect(logged.length, api.lines.slice(-20).join('\n')).toBeGreaterThan(0);
  }, 90_000);
});
