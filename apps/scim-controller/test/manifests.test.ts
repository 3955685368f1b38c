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
import { waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { condition, startTestController, waitForReady, type TestController } from './harness.js';
import { applyCrd, freshNamespace, kubeClients } from './kube.js';

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

/** The RBAC from k8s/rbac, moved to a fresh namespace and given unique cluster-scoped names. */
async function installRbac(controllerNamespace: string, suffix: string): Promise<KubeConfig> {
  for (const object of load('rbac')) {
    const copy = structuredClone(object) as KubernetesObject & {
      roleRef?: { name: string };
      subjects?: { namespace?: string }[];
    };
    if (copy.metadata!.namespace) copy.metadata!.namespace = controllerNamespace;
    if (copy.kind?.startsWith('Cluster')) copy.metadata!.name = `${copy.metadata!.name}-${suffix}`;
    if (copy.kind === 'ClusterRoleBinding') copy.roleRef!.name = `${copy.roleRef!.name}-${suffix}`;
    for (const subject of copy.subjects ?? []) subject.namespace = controllerNamespace;
    await objects.create(copy);
  }
  const { status } = await kube.core.createNamespacedServiceAccountToken({
    name: 'scim-controller',
    namespace: controllerNamespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: kube.kc.getCurrentCluster()!.server, skipTLSVerify: true }],
    users: [{ name: 'scim-controller', token: status!.token }],
    contexts: [{ name: 'c', cluster: 'c', user: 'scim-controller' }],
    currentContext: 'c',
  });
  return kc;
}

describe('k8s/ manifests', () => {
  it('the example ScimTenants reconcile under the least-privilege RBAC from k8s/rbac', async () => {
    const controllerNamespace = await freshNamespace(kube.core, 'system');
    const tenants = await freshNamespace(kube.core, 'examples');
    const restricted = await installRbac(controllerNamespace, randomUUID().slice(0, 8));

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
});
