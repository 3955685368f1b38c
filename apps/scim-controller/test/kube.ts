import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { waitFor } from '@scimbridge/testing';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  type ScimTenant,
  type ScimTenantSpec,
} from '../src/api/scim-tenant.js';

export const crdPath = fileURLToPath(
  new URL('../../../k8s/crd/scimtenants.scimbridge.io.yaml', import.meta.url),
);

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

export function kubeClients(kubeconfig: string): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

/** Creates or replaces the ScimTenant CRD from k8s/ and waits until the apiserver serves it. */
export async function applyCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(crdPath, 'utf8'));
  const name = crd.metadata!.name!;
  try {
    const existing = await api.readCustomResourceDefinition({ name });
    crd.metadata!.resourceVersion = existing.metadata!.resourceVersion!;
    await api.replaceCustomResourceDefinition({ name, body: crd });
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
    await api.createCustomResourceDefinition({ body: crd }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  await waitFor(`CRD ${name} Established`, async () => {
    const current = await api.readCustomResourceDefinition({ name });
    return current.status?.conditions?.find((c) => c.type === 'Established')?.status === 'True';
  });
  // Established can precede the storage path being usable for a moment.
  const custom = kc.makeApiClient(CustomObjectsApi);
  await waitFor(`${name} served`, () =>
    custom
      .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
      .then(() => true)
      .catch(() => false),
  );
}

let counter = 0;
/** A fresh namespace per test: the harness has no namespace finalisation, so nothing is reused. */
export async function freshNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

export function tenantManifest(namespace: string, name: string, spec: ScimTenantSpec): ScimTenant {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

export async function createTenant(kube: Kube, tenant: ScimTenant): Promise<ScimTenant> {
  return (await kube.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: tenant.metadata.namespace,
    plural: PLURAL,
    body: tenant,
  })) as ScimTenant;
}

export async function getTenant(kube: Kube, namespace: string, name: string): Promise<ScimTenant> {
  return (await kube.custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as ScimTenant;
}

/** JSON merge patch of the spec, as `kubectl patch --type merge` would send. */
export async function patchTenantSpec(
  kube: Kube,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<ScimTenant> {
  return (await kube.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )) as ScimTenant;
}

/** A kubeconfig for a service account, from a TokenRequest: what a pod running as it would use. */
export async function serviceAccountKubeConfig(
  admin: Kube,
  namespace: string,
  name: string,
): Promise<KubeConfig> {
  const { status } = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: admin.kc.getCurrentCluster()!.server, skipTLSVerify: true }],
    users: [{ name, token: status!.token }],
    contexts: [{ name: 'c', cluster: 'c', user: name }],
    currentContext: 'c',
  });
  return kc;
}

/** Deletes a ScimTenant and waits until the apiserver no longer has it (its finalizer has run). */
export async function deleteTenantAndWait(kube: Kube, namespace: string, name: string): Promise<void> {
  await kube.custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  });
  await waitFor(`${namespace}/${name} to be gone`, () =>
    getTenant(kube, namespace, name).then(
      () => false,
      (e: { code?: number }) => e.code === 404,
    ),
  );
}

/** The apiserver's rejection message of a failed call (status body `message`). */
export function rejectionMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const parsed =
    typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string });
  return parsed?.message ?? String(error);
}
