import { readFileSync, readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  rightsOfRules,
  serviceAccountRights,
  waitFor,
  type AccessResource,
  type AccessRule,
} from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { condition, startTestController, waitForReady, type TestController } from './harness.js';
import { applyCrd, freshNamespace, kubeClients, serviceAccountKubeConfig } from './kube.js';

const k8sDir = fileURLToPath(new URL('../../../k8s/', import.meta.url));
const kube = kubeClients(inject('kubeconfig'));
const objects = kube.kc.makeApiClient(KubernetesObjectApi);
const load = (dir: string) =>
  readdirSync(`${k8sDir}${dir}`)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => loadAllYaml(readFileSync(`${k8sDir}${dir}/${f}`, 'utf8')) as KubernetesObject[]);

let running: TestController | undefined;
afterAll(async () => {
  await running?.stop();
});
beforeAll(async () => {
  await applyCrd(kube.kc);
});

/**
 * The RBAC from k8s/rbac (and, with `allNamespaces`, k8s/rbac/all-namespaces), moved to fresh namespaces
 * (`scimbridge` → controllerNamespace, `tenants` → tenantsNamespace) and given unique cluster-scoped names;
 * returns a kubeconfig authenticated as the controller's service account.
 */
async function installRbac(
  controllerNamespace: string,
  tenantsNamespace: string,
  suffix: string,
  allNamespaces = false,
): Promise<KubeConfig> {
  const moved = { scimbridge: controllerNamespace, tenants: tenantsNamespace } as Record<string, string>;
  for (const object of [...load('rbac'), ...(allNamespaces ? load('rbac/all-namespaces') : [])]) {
    const copy = structuredClone(object) as KubernetesObject & {
      roleRef?: { kind: string; name: string };
      subjects?: { namespace?: string }[];
    };
    if (copy.metadata!.namespace) copy.metadata!.namespace = moved[copy.metadata!.namespace]!;
    if (copy.kind?.startsWith('Cluster')) copy.metadata!.name = `${copy.metadata!.name}-${suffix}`;
    if (copy.roleRef?.kind === 'ClusterRole') copy.roleRef.name = `${copy.roleRef.name}-${suffix}`;
    for (const subject of copy.subjects ?? []) subject.namespace = controllerNamespace;
    await objects.create(copy);
  }
  return serviceAccountKubeConfig(kube, controllerNamespace, 'scim-controller');
}

/** Every resource the controller touches, and some it must never touch. */
const RESOURCES: AccessResource[] = [
  ['scimbridge.io', 'scimtenants'],
  ['scimbridge.io', 'scimtenants/status'],
  ['scimbridge.io', 'scimtenants/finalizers'],
  ['', 'secrets'],
  ['events.k8s.io', 'events'],
  ['', 'events'],
  ['coordination.k8s.io', 'leases'],
  ['', 'configmaps'],
  ['', 'pods'],
  ['', 'serviceaccounts'],
  ['', 'serviceaccounts/token'],
  ['rbac.authorization.k8s.io', 'roles'],
  ['rbac.authorization.k8s.io', 'rolebindings'],
];
/** What docs/controller.md "RBAC" lists, as `group/resource:verb`. */
const TENANT_RIGHTS = [
  'scimbridge.io/scimtenants:get',
  'scimbridge.io/scimtenants:list',
  'scimbridge.io/scimtenants:watch',
  'scimbridge.io/scimtenants:patch',
  'scimbridge.io/scimtenants/status:get',
  'scimbridge.io/scimtenants/status:patch',
  'scimbridge.io/scimtenants/finalizers:update',
  '/secrets:get',
  '/secrets:list',
  '/secrets:watch',
  '/secrets:create',
  '/secrets:patch',
  '/secrets:delete',
  'events.k8s.io/events:create',
  'events.k8s.io/events:patch',
];
const LEASE_RIGHTS = [
  'coordination.k8s.io/leases:get',
  'coordination.k8s.io/leases:create',
  'coordination.k8s.io/leases:update',
];
const admin = { server: kube.kc.getCurrentCluster()!.server, token: kube.kc.getCurrentUser()!.token! };
const rightsOf = (serviceAccount: string, namespace: string | undefined) =>
  serviceAccountRights(admin, serviceAccount, namespace, RESOURCES);

describe('k8s/ manifests', () => {
  it('the example ScimTenants reconcile under the least-privilege RBAC from k8s/rbac', async () => {
    const controllerNamespace = await freshNamespace(kube.core, 'system');
    const tenants = await freshNamespace(kube.core, 'examples');
    const restricted = await installRbac(controllerNamespace, tenants, randomUUID().slice(0, 8));

    // The controller's own identity really is limited.
    await expect(
      restricted.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: tenants }),
    ).rejects.toMatchObject({ code: 403 });

    running = await startTestController(
      { ...kube, kc: restricted },
      {
        kubeConfig: restricted,
        namespace: tenants,
        mongoUri: inject('mongodbUri'),
        redisUrl: inject('redisUrl'),
        database: `ex_${randomUUID().slice(0, 8)}`,
        leaderElection: {
          namespace: controllerNamespace,
          name: 'scim-controller-leader',
          identity: 'test',
          onLost: () => undefined,
        },
      },
    );
    for (const object of load('examples')) {
      object.metadata!.namespace = tenants;
      await objects.create(object);
    }

    const minimal = await waitForReady(kube, tenants, 'acme');
    expect(minimal.status?.secretName).toBe('acme-scim-token');
    const full = await waitForReady(kube, tenants, 'globex', 'False', 'DefaultGroupNotFound');
    expect(condition(full, 'TokenIssued')?.status).toBe('True');
    expect(full.status?.secretName).toBe('globex-scim-token');
    const byo = await waitForReady(kube, tenants, 'initech', 'False', 'InvalidToken');
    expect(condition(byo, 'Ready')?.message).toContain('initech-idp-token');
    // Events follow the status write.
    await waitFor('events for each transition', async () => {
      const reasons = (await kube.core.listNamespacedEvent({ namespace: tenants })).items.map(
        (e) => e.reason,
      );
      return ['TokenIssued', 'DefaultGroupNotFound', 'InvalidToken'].every((r) => reasons.includes(r));
    });
  });

  it('grants exactly the documented verbs: in each managed namespace by default, everywhere only with all-namespaces', async () => {
    const sorted = (rights: string[]) => [...rights].sort();
    const suffix = randomUUID().slice(0, 8);

    const system = await freshNamespace(kube.core, 'system');
    const managed = await freshNamespace(kube.core, 'managed');
    const other = await freshNamespace(kube.core, 'other');
    await installRbac(system, managed, suffix);
    const sa = `${system}/scim-controller`;
    // The documented list is the rules file, verb for verb.
    const rules = (load('rbac').find((o) => o.kind === 'ClusterRole') as { rules: AccessRule[] }).rules;
    expect(rightsOfRules(rules)).toEqual(sorted(TENANT_RIGHTS));
    expect(await rightsOf(sa, managed)).toEqual(sorted(TENANT_RIGHTS));
    expect(await rightsOf(sa, system)).toEqual(sorted(LEASE_RIGHTS));
    expect(await rightsOf(sa, other)).toEqual([]);
    expect(await rightsOf(sa, undefined)).toEqual([]);

    const wideSystem = await freshNamespace(kube.core, 'system');
    const wideManaged = await freshNamespace(kube.core, 'managed');
    await installRbac(wideSystem, wideManaged, `${suffix}w`, true);
    const wide = `${wideSystem}/scim-controller`;
    // All-namespaces: the same verbs in every namespace and cluster-wide (every Secret of the cluster).
    expect(await rightsOf(wide, other)).toEqual(sorted(TENANT_RIGHTS));
    expect(await rightsOf(wide, undefined)).toEqual(sorted(TENANT_RIGHTS));
    expect(await rightsOf(wide, wideSystem)).toEqual(sorted([...TENANT_RIGHTS, ...LEASE_RIGHTS]));
  });
});
