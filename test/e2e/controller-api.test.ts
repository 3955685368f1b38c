import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  loadYaml,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The GitOps path end to end: kubectl-style writes to a ScimTenant, the controller process, the api process.
const root = fileURLToPath(new URL('../..', import.meta.url));
const group = 'scimbridge.io';
const version = 'v1alpha1';
const plural = 'scimtenants';
const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfig'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const children: ChildProcess[] = [];
const namespace = `e2e-ctl-${Date.now().toString(36)}`;
const database = `e2e_ctl_${randomUUID().slice(0, 8)}`;
let apiBase: string;

function start(app: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [`${root}/apps/${app}/dist/main.js`], {
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      MONGODB_URI: `${inject('mongodbUri').replace(/\/$/, '')}/${database}`,
      REDIS_URL: inject('redisUrl'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  children.push(child);
  return { child, output: () => output };
}

async function ready(name: string, port: number, proc: ReturnType<typeof start>): Promise<void> {
  await waitFor(`${name} /readyz`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 60_000,
    isAlive: () => proc.child.exitCode === null,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${proc.output()}`);
  });
}

const usersStatus = async (token: string) =>
  (await fetch(`${apiBase}/Users`, { headers: { authorization: `Bearer ${token}` } })).status;

async function tenant(name: string) {
  return (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as {
    metadata: { generation: number };
    status?: {
      observedGeneration?: number;
      tokenFingerprint?: string;
      conditions?: { type: string; status: string }[];
    };
  };
}

async function waitReady(name: string): Promise<void> {
  await waitFor(`${name} Ready`, async () => {
    const t = await tenant(name);
    return (
      t.status?.observedGeneration === t.metadata.generation &&
      t.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
    );
  });
}

async function secretToken(name: string): Promise<string> {
  const secret = await core.readNamespacedSecret({ namespace, name });
  return Buffer.from(secret.data!.token!, 'base64').toString();
}

beforeAll(async () => {
  await promisify(execFile)(
    'pnpm',
    [
      'exec',
      'turbo',
      'run',
      'build',
      '--filter=@scimbridge/scim-controller',
      '--filter=@scimbridge/scim-api',
      '--output-logs=errors-only',
    ],
    { cwd: root, timeout: 170_000 },
  );
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(
    readFileSync(`${root}/k8s/crd/scimtenants.scimbridge.io.yaml`, 'utf8'),
  );
  await extensions.createCustomResourceDefinition({ body: crd }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  await waitFor('ScimTenant served', () =>
    custom.listClusterCustomObject({ group, version, plural }).then(
      () => true,
      () => false,
    ),
  );
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const apiPort = await freePort();
  const api = start('scim-api', { PORT: String(apiPort) });
  const controllerPort = await freePort();
  const controller = start('scim-controller', {
    PORT: String(controllerPort),
    KUBECONFIG: inject('kubeconfig'),
    WATCH_NAMESPACE: namespace,
    // The ownership policy: this namespace may claim any organisation (the test uses its own database).
    ORGANISATION_POLICY: JSON.stringify([{ namespace, organisationIds: ['*'] }]),
    LEADER_ELECTION: 'false',
  });
  await ready('scim-api', apiPort, api);
  await ready('scim-controller', controllerPort, controller);
  apiBase = `http://127.0.0.1:${apiPort}/scim/v2`;
}, 240_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

describe('ScimTenant → controller → api', () => {
  it('the token Secret works against the api; a rotated token is refused within a second; revoked means none works', async () => {
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ScimTenant',
        metadata: { name: 'acme' },
        spec: { organisationId: `acme-${randomUUID().slice(0, 8)}`, displayName: 'Acme' },
      },
    });
    await waitReady('acme');
    const first = await secretToken('acme-scim-token');
    expect(await usersStatus(first)).toBe(200);

    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const patch = (spec: object) =>
      custom.patchNamespacedCustomObject(
        { group, version, namespace, plural, name: 'acme', body: { spec } },
        merge,
      );

    await patch({ token: { rotation: 1 } });
    await waitFor('a new token in the Secret', async () => (await secretToken('acme-scim-token')) !== first);
    const rotatedAt = Date.now();
    await waitFor('the old token refused', async () => (await usersStatus(first)) === 401, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(Date.now() - rotatedAt).toBeLessThan(1_000);
    const second = await secretToken('acme-scim-token');
    expect(await usersStatus(second)).toBe(200);

    await patch({ token: { revoked: true } });
    await waitFor('no token accepted', async () => (await usersStatus(second)) === 401, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(await usersStatus(first)).toBe(401);
  });
});
