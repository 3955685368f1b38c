import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  rightsOfRules,
  serviceAccountRights,
  startKube,
  toolPath,
  type AccessResource,
  type AccessRule,
  type KubeServer,
} from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The chart is exercised against its own kube-apiserver: a CRD is cluster-scoped, so a release here must not
// meet the CRD that other suites install from k8s/crd/ into the shared server.
const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = `${root}/charts/scimbridge`;
const fullValues = `${chart}/ci/full-values.yaml`;
const monitoringApis = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].flatMap((kind) => [
  '--api-versions',
  `monitoring.coreos.com/v1/${kind}`,
]);
const minimalValues = ['--set', 'mongodb.existingSecret=db', '--set', 'redis.existingSecret=db'];

const run = promisify(execFile);
async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(toolPath('helm'), args, { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}
async function helmFails(args: string[]): Promise<string> {
  try {
    await helm(args);
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error(`helm ${args.join(' ')} succeeded but should have failed`);
}
const template = (namespace: string, ...args: string[]) =>
  helm(['template', 'scim', chart, '--namespace', namespace, '--kube-version', '1.36.0', ...args]);
/** Parsed YAML, navigated freely in assertions. */
type Parsed = ReturnType<typeof JSON.parse>;
const documents = (yaml: string) => loadAllYaml(yaml).filter(Boolean) as KubernetesObject[];

let kube: KubeServer;
let kc: KubeConfig;

/** Minimal prometheus-operator CRDs, so the chart's Capabilities guards see them and dry-runs can target them. */
async function installMonitoringCrds() {
  const crds = kc.makeApiClient(ApiextensionsV1Api);
  for (const [kind, plural] of [
    ['ServiceMonitor', 'servicemonitors'],
    ['PodMonitor', 'podmonitors'],
    ['PrometheusRule', 'prometheusrules'],
  ] as const) {
    await crds.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.monitoring.coreos.com` },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
                },
              },
            },
          ],
        },
      },
    });
  }
  for (let i = 0; i < 100; i += 1) {
    const list = await crds.listCustomResourceDefinition();
    const established = list.items.filter((c) =>
      c.status?.conditions?.some((cond) => cond.type === 'Established' && cond.status === 'True'),
    );
    if (established.length >= 3) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('monitoring CRDs did not become Established');
}

async function createNamespace(name: string) {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

/** Server-side apply with dryRun=All: the apiserver validates every object against its real schema, stores nothing. */
async function dryRunApply(objects: KubernetesObject[]) {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const failures: string[] = [];
  for (const object of objects) {
    try {
      await api.patch(object, undefined, 'All', 'chart-test', true, PatchStrategy.ServerSideApply);
    } catch (error) {
      failures.push(`${object.kind}/${object.metadata?.name}: ${(error as Error).message}`);
    }
  }
  expect(failures).toEqual([]);
}

beforeAll(async () => {
  kube = await startKube('chart-kube');
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  await installMonitoringCrds();
  for (const ns of ['chart-default', 'chart-full', 'tenants']) await createNamespace(ns);
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

describe('the Helm chart', () => {
  it('passes helm lint with the default and the full-featured values', async () => {
    expect(await helm(['lint', chart, '--kube-version', '1.36.0', ...minimalValues])).toMatch(
      /0 chart\(s\) failed/,
    );
    expect(await helm(['lint', chart, '--kube-version', '1.36.0', '-f', fullValues])).toMatch(
      /0 chart\(s\) failed/,
    );
  });

  it('renders the ScimTenant CRD from the single source in k8s/crd/', async () => {
    const canonical = `${root}/k8s/crd/scimtenants.scimbridge.io.yaml`;
    expect(realpathSync(`${chart}/files/crd/scimtenants.scimbridge.io.yaml`)).toBe(realpathSync(canonical));
    const crd = documents(await template('chart-default', ...minimalValues)).find(
      (o) => o.kind === 'CustomResourceDefinition',
    )!;
    const source = documents(readFileSync(canonical, 'utf8'))[0]!;
    expect((crd as { spec: unknown }).spec).toEqual((source as { spec: unknown }).spec);
    expect(crd.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
    // helm package dereferences the link, so a packaged chart carries the CRD itself.
    const out = mkdtempSync(join(tmpdir(), 'chart-package-'));
    await helm(['package', chart, '--destination', out]);
    const packaged = documents(
      await helm([
        'template',
        'scim',
        join(out, readdirSync(out)[0]!),
        '--kube-version',
        '1.36.0',
        ...minimalValues,
      ]),
    ).find((o) => o.kind === 'CustomResourceDefinition') as Parsed;
    expect(packaged.spec).toEqual((source as Parsed).spec);
    rmSync(out, { recursive: true });
    const withoutCrd = documents(
      await template('chart-default', ...minimalValues, '--set', 'crds.enabled=false'),
    );
    expect(withoutCrd.some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
  });

  it("takes the controller's RBAC rules from k8s/rbac/, namespaced or cluster-wide", async () => {
    const canonical = (file: string) =>
      (documents(readFileSync(`${root}/k8s/rbac/${file}`, 'utf8'))[0] as Parsed).rules as unknown;
    const roles = (objects: KubernetesObject[], kind: string) =>
      objects.filter((o) => o.kind === kind) as Parsed[];
    const namespaced = documents(await template('chart-default', ...minimalValues));
    const [tenantRole, leaseRole] = roles(namespaced, 'Role');
    expect(tenantRole.metadata.namespace).toBe('chart-default');
    expect(tenantRole.rules).toEqual(canonical('cluster-role.yaml'));
    expect(leaseRole.rules).toEqual(canonical('leader-election-role.yaml'));
    expect(roles(namespaced, 'ClusterRole')).toEqual([]);
    const clusterWide = documents(
      await template('chart-default', ...minimalValues, '--set', 'controller.watchAllNamespaces=true'),
    );
    expect(roles(clusterWide, 'ClusterRole')[0].rules).toEqual(canonical('cluster-role.yaml'));
    expect(roles(clusterWide, 'Role').map((r) => r.metadata.name)).toEqual([
      'scim-scimbridge-controller-leader-election',
    ]);
    const controller = clusterWide.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-controller'),
    ) as Parsed;
    const env = controller.spec.template.spec.containers[0].env as { name: string }[];
    expect(env.map((e) => e.name)).not.toContain('WATCH_NAMESPACE');
    // Several managed namespaces: a Role and RoleBinding in each, and nothing cluster-wide.
    const several = documents(
      await template(
        'chart-default',
        ...minimalValues,
        '--set-json',
        'controller.watchNamespaces=["team-a","team-b"]',
      ),
    );
    expect(roles(several, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'team-a/scim-scimbridge-controller',
      'team-b/scim-scimbridge-controller',
      'chart-default/scim-scimbridge-controller-leader-election',
    ]);
    expect(roles(several, 'RoleBinding')).toHaveLength(3);
    expect(roles(several, 'ClusterRole')).toEqual([]);
    const severalEnv = (
      several.find((o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-controller')) as Parsed
    ).spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(severalEnv.find((e) => e.name === 'WATCH_NAMESPACE')?.value).toBe('team-a,team-b');
  });

  it('renders defaults: three workloads, restricted pods, selectors on name/instance/component only', async () => {
    const objects = documents(await template('chart-default', ...minimalValues));
    const deployments = objects.filter((o) => o.kind === 'Deployment') as unknown as {
      metadata: { name: string };
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: { spec: Parsed };
      };
    }[];
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'scim-scimbridge-api',
      'scim-scimbridge-controller',
      'scim-scimbridge-worker',
    ]);
    for (const d of deployments) {
      expect(Object.keys(d.spec.selector.matchLabels).sort()).toEqual([
        'app.kubernetes.io/component',
        'app.kubernetes.io/instance',
        'app.kubernetes.io/name',
      ]);
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.resources.limits.memory).toBeDefined();
      expect(pod.automountServiceAccountToken).toBe(d.metadata.name.endsWith('controller'));
      const env = Object.fromEntries(
        (container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
      );
      expect(env.NODE_OPTIONS).toMatch(/--import=@scimbridge\/telemetry\/otel --max-old-space-size=\d+/);
      expect(env.OTEL_SDK_DISABLED).toBe('true');
    }
    // Monitoring objects need their CRDs (Capabilities); the dashboards are opt-in.
    expect(objects.map((o) => o.kind)).not.toContain('ServiceMonitor');
    expect(objects.map((o) => o.kind)).not.toContain('ConfigMap');
  });

  it('renders the full-featured values: ingress with TLS on the SCIM path, HPAs, monitors, rules, dashboards', async () => {
    const objects = documents(await template('chart-full', '-f', fullValues, ...monitoringApis));
    const kinds = objects.map((o) => o.kind);
    for (const kind of [
      'Ingress',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceMonitor',
      'PodMonitor',
      'PrometheusRule',
      'ConfigMap',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    const ingress = objects.find((o) => o.kind === 'Ingress') as Parsed;
    expect(ingress.spec.tls[0].hosts).toEqual(['scim.example.com']);
    expect(ingress.spec.rules[0].http.paths.map((p: { path: string }) => p.path)).toEqual(['/scim/v2']);
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata?.name);
    expect(hpas.sort()).toEqual(['scim-scimbridge-api', 'scim-scimbridge-worker']);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule');
    for (const m of monitors) expect(m.metadata?.labels?.release).toBe('kube-prometheus-stack');
    const dashboards = objects.filter((o) => o.kind === 'ConfigMap');
    for (const d of dashboards) expect(d.metadata?.labels?.grafana_dashboard).toBe('1');
    const controller = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-controller'),
    ) as Parsed;
    const env = (controller.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map(
      (e) => [e.name, e.value],
    );
    expect(env).toContainEqual(['WATCH_NAMESPACE', 'tenants']);
    expect(JSON.parse(env.find(([name]) => name === 'ORGANISATION_POLICY')![1]!)).toEqual([
      { namespace: 'tenants', organisationIds: ['acme', 'acme-*'], adopt: true },
    ]);
    expect(env).toContainEqual(['SCIM_BASE_URL', 'https://scim.example.com/scim/v2']);
    expect(env.map(([name]) => name)).toContain('REDIS_URL');
    expect(controller.spec.strategy.rollingUpdate.maxSurge).toBe(0);
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-api')) as Parsed;
    expect(api.spec.replicas).toBeUndefined();
    expect(api.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/scimbridge/scim-api@sha256:0000000000000000000000000000000000000000000000000000000000000000',
    );
  });

  it('renders manifests the real kube-apiserver accepts (server-side dry-run): defaults, full values, README example', async () => {
    await dryRunApply(documents(await template('chart-default', ...minimalValues)));
    const readme = readFileSync(`${root}/README.md`, 'utf8');
    const example = /## Install on Kubernetes[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const exampleFile = join(mkdtempSync(join(tmpdir(), 'readme-values-')), 'values.yaml');
    writeFileSync(exampleFile, example);
    await createNamespace('scim-tenants');
    await dryRunApply(documents(await template('chart-default', '-f', exampleFile, ...monitoringApis)));
    await dryRunApply(documents(await template('chart-full', '-f', fullValues, ...monitoringApis)));
  });

  it('helm install creates the objects in the cluster and tells how to create the first ScimTenant', async () => {
    const output = await helm([
      'install',
      'scim',
      chart,
      '--namespace',
      'chart-full',
      '--kubeconfig',
      kube.kubeconfig,
      '-f',
      fullValues,
    ]);
    expect(output).toMatch(/https:\/\/scim\.example\.com\/scim\/v2/);
    expect(output).toMatch(/kubectl apply -n tenants -f -/);
    expect(output).toMatch(/kind: ScimTenant/);
    expect(output).toMatch(/get secret acme-scim-token -o jsonpath='\{\.data\.token\}'/);
    const apps = kc.makeApiClient(AppsV1Api);
    const deployments = await apps.listNamespacedDeployment({ namespace: 'chart-full' });
    expect(deployments.items.map((d) => d.metadata?.name).sort()).toEqual([
      'scim-scimbridge-api',
      'scim-scimbridge-controller',
      'scim-scimbridge-worker',
    ]);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const roles = await rbac.listNamespacedRole({ namespace: 'tenants' });
    expect(roles.items.map((r) => r.metadata?.name)).toEqual(['scim-scimbridge-controller']);
    const monitors = await KubernetesObjectApi.makeApiClient(kc).list(
      'monitoring.coreos.com/v1',
      'ServiceMonitor',
      'chart-full',
    );
    expect(monitors.items).toHaveLength(3);
  });

  it('gives the controller least privilege: its tenant namespace, its Lease namespace, nothing else', async () => {
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const can = async (
      sa: string,
      verb: string,
      resource: string,
      namespace: string | undefined,
      group = '',
    ) => {
      const review = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:chart-full:${sa}`,
            groups: ['system:serviceaccounts', 'system:serviceaccounts:chart-full'],
            resourceAttributes: {
              verb,
              resource: resource.split('/')[0],
              subresource: resource.split('/')[1],
              namespace,
              group,
            },
          },
        },
      });
      return review.status?.allowed === true;
    };
    const controller = 'scim-scimbridge-controller';
    const crdGroup = (
      documents(readFileSync(`${chart}/files/crd/scimtenants.scimbridge.io.yaml`, 'utf8'))[0] as Parsed
    ).spec.group;
    expect(await can(controller, 'watch', 'scimtenants', 'tenants', crdGroup)).toBe(true);
    expect(await can(controller, 'patch', 'scimtenants/status', 'tenants', crdGroup)).toBe(true);
    expect(await can(controller, 'update', 'scimtenants/finalizers', 'tenants', crdGroup)).toBe(true);
    expect(await can(controller, 'create', 'secrets', 'tenants')).toBe(true);
    expect(await can(controller, 'create', 'events', 'tenants', 'events.k8s.io')).toBe(true);
    expect(await can(controller, 'update', 'leases', 'chart-full', 'coordination.k8s.io')).toBe(true);
    // Denied: Secrets outside the managed namespace, cluster-wide, Leases elsewhere, and anything for the api.
    expect(await can(controller, 'get', 'secrets', 'chart-default')).toBe(false);
    expect(await can(controller, 'list', 'secrets', undefined)).toBe(false);
    expect(await can(controller, 'update', 'leases', 'tenants', 'coordination.k8s.io')).toBe(false);
    expect(await can(controller, 'delete', 'scimtenants', 'tenants', crdGroup)).toBe(false);
    expect(await can('scim-scimbridge-api', 'get', 'secrets', 'chart-full')).toBe(false);

    // Exactly the documented rules (k8s/rbac/cluster-role.yaml), verb for verb, where each install mode says.
    const resources: AccessResource[] = [
      [crdGroup, 'scimtenants'],
      [crdGroup, 'scimtenants/status'],
      [crdGroup, 'scimtenants/finalizers'],
      ['', 'secrets'],
      ['events.k8s.io', 'events'],
      ['', 'events'],
      ['coordination.k8s.io', 'leases'],
      ['', 'configmaps'],
      ['', 'pods'],
      ['', 'serviceaccounts/token'],
    ];
    const rules = (documents(readFileSync(`${root}/k8s/rbac/cluster-role.yaml`, 'utf8'))[0] as Parsed)
      .rules as AccessRule[];
    const tenantRights = rightsOfRules(rules);
    const leaseRights = rightsOfRules(
      (documents(readFileSync(`${root}/k8s/rbac/leader-election-role.yaml`, 'utf8'))[0] as Parsed).rules,
    );
    const rights = (sa: string, namespace: string | undefined) =>
      serviceAccountRights(kube, sa, namespace, resources);
    const namespaced = `chart-full/${controller}`;
    expect(await rights(namespaced, 'tenants')).toEqual(tenantRights);
    expect(await rights(namespaced, 'chart-full')).toEqual(leaseRights);
    expect(await rights(namespaced, 'chart-default')).toEqual([]);
    expect(await rights(namespaced, undefined)).toEqual([]);
    expect(await rights('chart-full/scim-scimbridge-worker', 'chart-full')).toEqual([]);

    await createNamespace('chart-wide');
    await helm([
      'install',
      'wide',
      chart,
      '--namespace',
      'chart-wide',
      '--kubeconfig',
      kube.kubeconfig,
      ...minimalValues,
      '--set',
      'controller.watchAllNamespaces=true',
      // The first release owns the CRD.
      '--set',
      'crds.enabled=false',
    ]);
    const wide = 'chart-wide/wide-scimbridge-controller';
    expect(await rights(wide, 'tenants')).toEqual(tenantRights);
    expect(await rights(wide, undefined)).toEqual(tenantRights);
    expect(await rights(wide, 'chart-wide')).toEqual([...new Set([...tenantRights, ...leaseRights])].sort());
  });

  it("closes the worker's egress by default: a NetworkPolicy for DNS, the database ports and public https, and the same rules in its environment", async () => {
    const objects = documents(await template('chart-default', ...minimalValues));
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as Parsed[];
    expect(policies.map((p) => p.metadata.name)).toEqual(['scim-scimbridge-worker']);
    const [policy] = policies;
    expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('worker');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const egress = policy.spec.egress as {
      to?: { ipBlock: { cidr: string; except?: string[] } }[];
      ports: { port: number }[];
    }[];
    expect(egress.map((rule) => rule.ports.map((p) => p.port))).toEqual([
      [53, 53],
      [27017, 6379, 6380],
      [443],
    ]);
    const webhooks = egress[2]!.to!.map((peer) => peer.ipBlock);
    expect(webhooks.map((b) => b.cidr)).toEqual(['0.0.0.0/0', '::/0']);
    expect(webhooks[0]!.except).toEqual(
      expect.arrayContaining([
        '10.0.0.0/8',
        '169.254.0.0/16',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '127.0.0.0/8',
      ]),
    );
    expect(webhooks[1]!.except).toEqual(expect.arrayContaining(['fc00::/7', 'fe80::/10']));
    const worker = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-worker'),
    ) as Parsed;
    const env = Object.fromEntries(
      (worker.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [
        e.name,
        e.value,
      ]),
    );
    expect(env).toMatchObject({
      AUDIT_WEBHOOK_ALLOW_HTTP: 'false',
      AUDIT_WEBHOOK_ALLOWED_CIDRS: '',
      AUDIT_WEBHOOK_DENIED_CIDRS: '',
    });

    const allowing = documents(
      await template(
        'chart-default',
        ...minimalValues,
        '--set-json',
        'worker.egress={"allowHttp":true,"allowedCIDRs":["10.20.0.0/16"],"deniedCIDRs":["34.118.224.0/20"]}',
      ),
    );
    const allowed = (allowing.find((o) => o.kind === 'NetworkPolicy') as Parsed).spec.egress[2].to.map(
      (peer: { ipBlock: { cidr: string } }) => peer.ipBlock.cidr,
    );
    expect(allowed).toEqual(['0.0.0.0/0', '::/0', '10.20.0.0/16']);
    const allowingEnv = (
      allowing.find((o) => o.kind === 'Deployment' && o.metadata?.name?.endsWith('-worker')) as Parsed
    ).spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(allowingEnv).toEqual(
      expect.arrayContaining([
        { name: 'AUDIT_WEBHOOK_ALLOW_HTTP', value: 'true' },
        { name: 'AUDIT_WEBHOOK_ALLOWED_CIDRS', value: '10.20.0.0/16' },
        { name: 'AUDIT_WEBHOOK_DENIED_CIDRS', value: '34.118.224.0/20' },
      ]),
    );
    const off = documents(
      await template('chart-default', ...minimalValues, '--set', 'worker.networkPolicy.enabled=false'),
    );
    expect(off.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('rejects bad values with messages that name the value and the rule', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'api.replicaCount=-1'], /at '\/api\/replicaCount': minimum/],
      [['--set', 'api.replicas=3'], /at '\/api': additional properties 'replicas' not allowed/],
      [['--set', 'logLevel=verbose'], /at '\/logLevel': value must be one of/],
      [['--set', 'mongodb.uri=postgres://db'], /at '\/mongodb\/uri': .* does not match pattern/],
      [['--set', 'redis.url=localhost:6379'], /at '\/redis\/url'/],
      [['--set', 'api.ingress.path=scim'], /at '\/api\/ingress\/path'/],
      [['--set', 'image.pullPolicy=Sometimes'], /at '\/image\/pullPolicy': value must be one of/],
      [['--set', 'containerSecurityContext.runAsNonRoot=false'], /runAsNonRoot': value must be true/],
      [['--set', 'controller.replicaCount=5'], /at '\/controller\/replicaCount': maximum/],
      [['--set', 'metrics.serviceMonitor.interval=30'], /at '\/metrics\/serviceMonitor\/interval'/],
      [['--set', 'otel.samplerArg=2'], /at '\/otel\/samplerArg'/],
      [['--set', 'api.resources.limits.memory=lots'], /at '\/api\/resources\/limits\/memory'/],
      [['--set-string', 'api.autoscaling.targetCPU=high'], /at '\/api\/autoscaling\/targetCPU'/],
      [
        ['--set-json', 'controller.organisationPolicy=[{"namespace":"team-a"}]'],
        /at '\/controller\/organisationPolicy\/0': missing property 'organisationIds'/,
      ],
      [['--set-json', 'worker.egress.allowedCIDRs=["10.0.0.0"]'], /at '\/worker\/egress\/allowedCIDRs\/0'/],
    ];
    for (const [args, message] of cases) {
      expect(
        await helmFails(['template', 'bad', chart, '--kube-version', '1.36.0', ...minimalValues, ...args]),
      ).toMatch(message);
    }
    expect(await helmFails(['template', 'bad', chart, '--kube-version', '1.36.0'])).toMatch(
      /MongoDB is required: set mongodb.existingSecret/,
    );
    expect(
      await helmFails([
        'template',
        'bad',
        chart,
        '--kube-version',
        '1.36.0',
        ...minimalValues,
        '--set',
        'shutdownTimeoutMs=30000',
      ]),
    ).toMatch(
      /terminationGracePeriodSeconds \(30 s\) must exceed preStopSleepSeconds \+ shutdownTimeoutMs \(35000 ms\)/,
    );
  });
});
