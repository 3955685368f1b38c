import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const group = 'smoke.scimbridge.io';
const plural = 'widgets';

describe('Kubernetes API (kube-apiserver + etcd unless KUBECONFIG is set)', () => {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = `smoke-${Date.now().toString(36)}`;

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('serves a CRD, its custom resources, Secrets and informer updates', async () => {
    await extensions
      .createCustomResourceDefinition({
        body: {
          metadata: { name: `${plural}.${group}` },
          spec: {
            group,
            scope: 'Namespaced',
            names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: {
                    type: 'object',
                    properties: {
                      spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
                    },
                  },
                },
              },
            ],
          },
        },
      })
      .catch((error: { code?: number }) => {
        if (error.code !== 409) throw error;
      });
    await expect
      .poll(
        async () => {
          const crd = await extensions.readCustomResourceDefinition({ name: `${plural}.${group}` });
          return crd.status?.conditions?.find((c) => c.type === 'Established')?.status;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe('True');

    // The apiserver itself validates the structural schema.
    await expect(
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
      }),
    ).rejects.toMatchObject({ code: 422 });

    const seen: number[] = [];
    const informer = makeInformer<KubernetesObject & { spec: { size: number } }>(
      kc,
      `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
      () => custom.listNamespacedCustomObject({ group, version: 'v1', namespace, plural }),
    );
    informer.on('update', (obj) => seen.push(obj.spec.size));
    informer.on('add', (obj) => seen.push(obj.spec.size));
    await informer.start();
    try {
      await custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } },
      });
      await custom.patchNamespacedCustomObject({
        group,
        version: 'v1',
        namespace,
        plural,
        name: 'w1',
        body: [{ op: 'replace', path: '/spec/size', value: 2 }],
      });
      await expect.poll(() => seen, { timeout: 15_000 }).toContain(2);
    } finally {
      await informer.stop();
    }

    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 's1' }, stringData: { token: 'x' } },
    });
    const secret = await core.readNamespacedSecret({ namespace, name: 's1' });
    expect(Buffer.from(secret.data!.token!, 'base64').toString()).toBe('x');
  });
});
