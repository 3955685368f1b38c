import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { mintToken } from '@scimbridge/tenancy';
import {
  freePort,
  queryShapesEnv,
  startPrometheus,
  toolPath,
  waitFor,
  type PrometheusServer,
} from '@scimbridge/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The dashboards and alerts of charts/scimbridge/files, proven on a real Prometheus (Debian 2.42) scraping the
// three built services while a short, bounded load runs against them.
const root = fileURLToPath(new URL('../..', import.meta.url));
const files = `${root}/charts/scimbridge/files`;
const rulesFile = `${files}/alerts/scimbridge.rules.yaml`;

/**
 * Metrics the dashboards chart that their owners have not added yet (docs/operations.md lists who adds what).
 * A panel may be empty only if every metric it reads is listed here; remove a name once its service exports it.
 * Empty now: every panel has data.
 */
const PENDING_METRICS = new Set<string>([]);

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
}

const dashboards = readdirSync(`${files}/dashboards`).map(
  (file) => JSON.parse(readFileSync(`${files}/dashboards/${file}`, 'utf8')) as Dashboard,
);

/** Grafana's variables as a test run has them: every namespace, a rate window of a few scrapes. */
const concrete = (expr: string) =>
  expr.replaceAll('$namespace', '.*').replaceAll('$__rate_interval', '20s').replaceAll('${datasource}', '');

const metricNames = (expr: string) =>
  [...expr.matchAll(/([a-z_:][a-z0-9_:]*)\s*(?:\{|\[)/g)]
    .map((m) => m[1]!)
    .filter(
      (name) => name.includes('_') && !['histogram_quantile', 'clamp_min', 'label_values'].includes(name),
    );

const processes: ChildProcess[] = [];
let prometheus: PrometheusServer;
const ports = { api: 0, worker: 0, controller: 0 };
const namespace = `dash-${Date.now()}`;
const tenantApi = { group: 'scimbridge.io', version: 'v1alpha1', namespace, plural: 'scimtenants' };
/** A Redis database of its own, so the api's jobs (default prefix) never meet other suites' workers. */
const redisUrl = () => `${inject('redisUrl').replace(/\/\d*$/, '')}/7`;

function startService(
  app: 'scim-api' | 'scim-worker' | 'scim-controller',
  port: number,
  env: Record<string, string>,
) {
  const child = spawn(process.execPath, [`${root}/apps/${app}/dist/main.js`], {
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MONGODB_URI: inject('mongodbUri').replace(/\/?(\?|$)/, '/platform_dashboards$1'),
      REDIS_URL: redisUrl(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  processes.push(child);
  return waitFor(`${app} ready`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 30_000,
    isAlive: () => child.exitCode === null,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${output}`);
  });
}

async function prepareKubernetes(kc: KubeConfig) {
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
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
}

/** A ScimTenant, and the bearer token the controller writes into its Secret once it has reconciled it. */
async function tenantToken(kc: KubeConfig, name: string, spec: Record<string, unknown>): Promise<string> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...tenantApi,
    body: { apiVersion: 'scimbridge.io/v1alpha1', kind: 'ScimTenant', metadata: { name }, spec },
  });
  const core = kc.makeApiClient(CoreV1Api);
  let token = '';
  await waitFor(`token Secret of ${name}`, async () => {
    const secret = await core
      .readNamespacedSecret({ namespace, name: `${name}-scim-token` })
      .catch(() => undefined);
    token = Buffer.from(secret?.data?.token ?? '', 'base64').toString();
    return token.startsWith('scimb_');
  });
  return token;
}

/**
 * A bounded load for about ten seconds: an IdP provisioning users, one over its rate limit, one with a
 * revoked-looking token, one sending a filter past the cost model's term limit, audit jobs on the worker's
 * queue and edits to a ScimTenant.
 */
async function load(kc: KubeConfig) {
  const api = `http://127.0.0.1:${ports.api}`;
  const token = await tenantToken(kc, 'dashboards', {
    organisationId: 'dashboards-org',
    displayName: 'Dashboards test',
  });
  const unknownToken = mintToken();
  const limitedToken = await tenantToken(kc, 'dashboards-limited', {
    organisationId: 'dashboards-limited-org',
    displayName: 'Over its quota',
    rateLimit: { requestsPerSecond: 1, burst: 1 },
  });
  const as = (bearer: string) => ({
    authorization: `Bearer ${bearer}`,
    'content-type': 'application/scim+json',
    'user-agent': 'Okta SCIM Client 1.0.0',
  });
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const audit = new Queue('scim-audit', { connection: redis, prefix: 'scimbridge' });
  const tenants = kc.makeApiClient(CustomObjectsApi);
  const end = Date.now() + 10_000;
  for (let round = 0; Date.now() < end && round < 200; round += 1) {
    const userName = `user${round}@example.com`;
    await Promise.all([
      fetch(`${api}/scim/v2/Users`, {
        method: 'POST',
        headers: as(token),
        body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName,
          name: { givenName: 'Load', familyName: `User ${round}` },
          emails: [{ type: 'work', value: userName, primary: true }],
          active: true,
        }),
      }),
      fetch(`${api}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, {
        headers: as(token),
      }),
      fetch(`${api}/scim/v2/Groups`, { headers: as(limitedToken) }),
      // Well-formed (prefix, length, checksum) but never issued: passes the offline shape check, fails the lookup.
      fetch(`${api}/scim/v2/Users`, { headers: as(unknownToken) }),
      fetch(`${api}/scim/v2/ServiceProviderConfig`, { headers: as(token) }),
      fetch(
        `${api}/scim/v2/Groups?filter=${encodeURIComponent(Array.from({ length: 101 }, () => 'members pr').join(' or '))}`,
        { headers: as(token) },
      ),
      audit.add('audit.fanout', { v: 1, eventId: randomUUID(), orgId: 'dashboards-org' }),
    ]);
    if (round % 10 === 0) {
      await tenants.patchNamespacedCustomObject({
        ...tenantApi,
        name: 'dashboards',
        body: [{ op: 'replace', path: '/spec/displayName', value: `Dashboards test ${round}` }],
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await audit.close();
  await redis.quit();
}

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  await prepareKubernetes(kc);
  ports.api = await freePort();
  ports.worker = await freePort();
  ports.controller = await freePort();
  await Promise.all([
    // The opt-in per-organisation series, so the organisation panels and ScimOrganisationIdpFailing have data.
    startService('scim-api', ports.api, { METRICS_ORG_LABEL: 'true' }),
    startService('scim-worker', ports.worker, {}),
    startService('scim-controller', ports.controller, {
      KUBECONFIG: inject('kubeconfig'),
      WATCH_NAMESPACE: namespace,
      // The ownership policy: this namespace may claim any organisation (the test uses its own database).
      ORGANISATION_POLICY: JSON.stringify([{ namespace, organisationIds: ['*'] }]),
      POD_NAMESPACE: namespace,
      POD_NAME: 'scim-controller-dashboards',
    }),
  ]);
  prometheus = await startPrometheus({
    name: 'prometheus-dashboards',
    targets: Object.values(ports).map((port) => `127.0.0.1:${port}`),
    ruleFiles: [rulesFile],
  });
  await load(kc);
  await waitFor(
    'Prometheus to hold a few scrapes of every service',
    async () => (await prometheus.query('count(count_over_time(up[20s]) >= 5)'))[0]?.value[1] === '3',
    { timeoutMs: 30_000 },
  );
}, 240_000);

afterAll(async () => {
  for (const child of processes) if (child.exitCode === null) child.kill('SIGTERM');
  await prometheus?.stop();
});

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await promisify(execFile)(toolPath('promtool'), ['check', 'rules', rulesFile]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('all evaluate without error on Prometheus scraping the running services', async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`);
    const body = (await res.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string; query: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(20);
    const unhealthy = rules
      .filter((r) => r.health !== 'ok')
      .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    expect(unhealthy).toEqual([]);
    // The same expressions through the query API, so a rule never evaluated yet still counts.
    for (const rule of rules) await prometheus.query(rule.query);
  });

  it('record the SLO error ratios as 0 while nothing fails, so budgets read as healthy', async () => {
    const ratio = await prometheus.query('scimbridge:api_request_errors:ratio_rate5m');
    expect(ratio.map((s) => Number(s.value[1]))).toEqual([0]);
  });
});

describe('the load', () => {
  it('provisioned users, was refused for bad tokens and quotas, and ran jobs and reconciles', async () => {
    const value = async (promql: string) => Number((await prometheus.query(promql))[0]?.value[1] ?? 0);
    expect(
      await value('sum(scim_operations_total{resource="User",operation="create",outcome="success"})'),
    ).toBeGreaterThan(0);
    expect(await value('sum(scim_auth_failures_total{reason="unknown-token"})')).toBeGreaterThan(0);
    expect(await value('sum(scim_rate_limited_total)')).toBeGreaterThan(0);
    expect(
      await value('sum(scim_org_refused_requests_total{org="dashboards-limited-org",reason="rate-limited"})'),
    ).toBeGreaterThan(0);
    expect(
      await value('sum(http_server_request_duration_seconds_count{http_route="/scim/v2/Users"})'),
    ).toBeGreaterThan(0);
    expect(await value('sum(scim_job_duration_seconds_count)')).toBeGreaterThan(0);
    expect(await value('sum(controller_runtime_reconcile_total)')).toBeGreaterThan(0);
    expect(await value('sum(leader_election_master_status)')).toBe(1);
    expect(await value('count(scim_tenant_ready == 1)')).toBeGreaterThan(0);
  });
});

describe.each(dashboards.map((d) => [d.title, d] as const))('dashboard %s', (_title, dashboard) => {
  it('uses the datasource variable, a namespace variable and a stable uid', () => {
    expect(dashboard.uid).toMatch(/^scimbridge-/);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    const raw = JSON.stringify(dashboard.panels);
    expect(raw).not.toMatch(/"uid":"(?!\$\{datasource\})/);
  });

  it('has data for every panel query (except metrics still to be added by their owners)', async () => {
    const empty: string[] = [];
    const pending: string[] = [];
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        const result = await prometheus.query(concrete(target.expr));
        if (result.length > 0) continue;
        const names = metricNames(target.expr);
        const line = `${panel.title}: ${target.expr}`;
        if (names.length > 0 && names.every((n) => PENDING_METRICS.has(n))) pending.push(line);
        else empty.push(line);
      }
    }
    if (pending.length)
      console.info(`[${dashboard.title}] panels waiting for metrics:\n  ${pending.join('\n  ')}`);
    expect(empty).toEqual([]);
  });
});
