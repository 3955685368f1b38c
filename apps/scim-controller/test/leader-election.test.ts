import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForReady } from './harness.js';
import { applyCrd, createTenant, freshNamespace, kubeClients, tenantManifest } from './kube.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const kube = kubeClients(inject('kubeconfig'));
const leases = kube.kc.makeApiClient(CoordinationV1Api);
const LEASE = 'scim-controller-leader';

interface Replica {
  name: string;
  port: number;
  child: ChildProcess;
  exit: Promise<number | null>;
  output(): string;
}

const replicas: Replica[] = [];
let namespace: string;

async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [`${root}/apps/scim-controller/dist/main.js`], {
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      MONGODB_URI: `${inject('mongodbUri').replace(/\/$/, '')}/le_${randomUUID().slice(0, 8)}`,
      REDIS_URL: inject('redisUrl'),
      KUBECONFIG: inject('kubeconfig'),
      WATCH_NAMESPACE: namespace,
      // The ownership policy: this namespace may claim any organisation (the test uses its own database).
      ORGANISATION_POLICY: JSON.stringify([{ namespace, organisationIds: ['*'] }]),
      POD_NAMESPACE: namespace,
      POD_NAME: name,
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const replica = { name, port, child, exit, output: () => output };
  replicas.push(replica);
  return replica;
}

async function holder(): Promise<string | undefined> {
  try {
    return (await leases.readNamespacedLease({ namespace, name: LEASE })).spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

async function metric(replica: Replica, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

beforeAll(async () => {
  // The replicas run from the built package, as in a pod.
  await promisify(execFile)(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@scimbridge/scim-controller', '--output-logs=errors-only'],
    {
      cwd: root,
      timeout: 170_000,
    },
  );
  await applyCrd(kube.kc);
  namespace = await freshNamespace(kube.core, 'leader');
}, 180_000);

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('leader election between two controller processes', () => {
  it('lets exactly one replica reconcile, hands over within the lease time when the leader dies, and exits a replica that loses its lease', async () => {
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');
    for (const r of [a, b])
      await waitFor(`${r.name} ready`, async () => (await fetch(`http://127.0.0.1:${r.port}/readyz`)).ok, {
        timeoutMs: 30_000,
        isAlive: () => r.child.exitCode === null,
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${r.output()}`);
      });
    await waitFor('a leader', async () => ['replica-a', 'replica-b'].includes((await holder()) ?? ''));
    const leader = (await holder()) === 'replica-a' ? a : b;
    const standby = leader === a ? b : a;

    await createTenant(
      kube,
      tenantManifest(namespace, 'one', {
        organisationId: `o-${randomUUID().slice(0, 8)}`,
        displayName: 'One',
      }),
    );
    await waitForReady(kube, namespace, 'one');
    expect(await metric(leader, 'leader_election_master_status')).toBe(1);
    expect(await metric(standby, 'leader_election_master_status')).toBe(0);
    expect(await metric(leader, 'controller_runtime_reconcile_total')).toBeGreaterThan(0);
    expect(await metric(standby, 'controller_runtime_reconcile_total')).toBe(0);
    expect(await metric(leader, 'workqueue_adds_total')).toBeGreaterThan(0);

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await waitFor('the standby to take over', async () => (await holder()) === standby.name, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const takeoverMs = Date.now() - killedAt;
    // Lease 15 s, plus at most one 2 s retry period and jitter.
    expect(takeoverMs).toBeLessThan(19_000);
    await createTenant(
      kube,
      tenantManifest(namespace, 'two', {
        organisationId: `o-${randomUUID().slice(0, 8)}`,
        displayName: 'Two',
      }),
    );
    await waitForReady(kube, namespace, 'two');
    expect(await metric(standby, 'controller_runtime_reconcile_total')).toBeGreaterThan(0);

    // Someone else holds the lease now: the replica must stop at once (exit), not keep reconciling.
    const lease = await leases.readNamespacedLease({ namespace, name: LEASE });
    lease.spec = {
      ...lease.spec,
      holderIdentity: 'intruder',
      renewTime: new V1MicroTime(),
      leaseDurationSeconds: 15,
    };
    await leases.replaceNamespacedLease({ namespace, name: LEASE, body: lease });
    const code = await Promise.race([
      standby.exit,
      new Promise((r) => setTimeout(() => r('still running'), 10_000)),
    ]);
    expect(code).toBe(1);
    expect(standby.output()).toContain('leadership lost');
  }, 120_000);
});
