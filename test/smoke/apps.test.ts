import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function startApp(app: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [`${root}/apps/${app}/dist/main.js`], {
    env: { PATH: process.env.PATH, ...queryShapesEnv(), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, output: () => output };
}

// The controller is ready only once its ScimTenant informer has listed, which needs the CRD.
async function installCrd(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(
    readFileSync(`${root}/k8s/crd/scimtenants.scimbridge.io.yaml`, 'utf8'),
  );
  await api.createCustomResourceDefinition({ body: crd }).catch((error: { code?: number }) => {
    if (error.code !== 409) throw error;
  });
}

describe.each([
  { app: 'scim-api', env: () => ({ MONGODB_URI: inject('mongodbUri'), REDIS_URL: inject('redisUrl') }) },
  { app: 'scim-worker', env: () => ({ MONGODB_URI: inject('mongodbUri'), REDIS_URL: inject('redisUrl') }) },
  {
    app: 'scim-controller',
    env: () => ({
      MONGODB_URI: inject('mongodbUri'),
      REDIS_URL: inject('redisUrl'),
      KUBECONFIG: inject('kubeconfig'),
      LEASE_NAME: `smoke-${Date.now().toString(36)}`,
    }),
  },
])('$app process', ({ app, env }) => {
  it('starts from its package, serves /healthz, /readyz and /metrics, and exits 0 on SIGTERM', async () => {
    if (app === 'scim-controller') await installCrd();
    const port = await freePort();
    const proc = startApp(app, { ...env(), HOST: '127.0.0.1', PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(`${app} /readyz`, async () => (await fetch(`${base}/readyz`)).status === 200, {
        timeoutMs: 30_000,
        isAlive: () => proc.child.exitCode === null,
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${proc.output()}`);
      });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`nodejs_eventloop_lag_seconds\\{service="${app}"\\}`));
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exit).toBe(0);
  });

  it('refuses to start with a clear message when configuration is missing', async () => {
    const proc = startApp(app, { PORT: 'not-a-port' });
    expect(await proc.exit).toBe(78);
    expect(proc.output()).toMatch(/invalid configuration/);
    expect(proc.output()).toMatch(/MONGODB_URI/);
    expect(proc.output()).toMatch(/PORT/);
  });
});
