import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { ManagedProcess, dataDir } from './process.js';
import { freePort } from './ports.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface KubeServer {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Path of a kubeconfig (static admin token, system:masters) for clients. */
  kubeconfig: string;
  token: string;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  /** Stops and starts kube-apiserver on the same port, keeping etcd (watch-interruption tests). */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

const insecureAgent = new Agent({ rejectUnauthorized: false });

/** GET a path on the apiserver with the admin token; resolves with the status code and body. */
export function kubeGet(
  server: string,
  token: string,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      { agent: insecureAgent, headers: { authorization: `Bearer ${token}` }, timeout: 2_000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * etcd + kube-apiserver started the way controller-runtime's envtest does it (no kubelet, no controller-manager:
 * no garbage collection and no namespace finalisation, so tests use a fresh namespace each).
 * Authentication is a static token in group system:masters; RBAC is on, so other identities are really checked.
 */
export async function startKube(name = 'kube'): Promise<KubeServer> {
  const dir = dataDir(name);
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });

  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcd = new ManagedProcess({
    name: `${name}-etcd`,
    dataDir: dir,
    command: toolPath('etcd'),
    args: [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
      '--quota-backend-bytes=1073741824',
    ],
  });
  etcd.start();
  await waitFor(`${name} etcd`, async () => (await fetch(`${etcdUrl}/health`)).ok, {
    isAlive: () => etcd.isAlive(),
  });

  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saPub = join(certDir, 'sa.pub');
  const saKey = join(certDir, 'sa.key');
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(certDir, 'tokens.csv');
  writeFileSync(tokenFile, `${token},admin,admin-uid,"system:masters"\n`);

  const server = `https://127.0.0.1:${apiPort}`;
  const makeApiserver = () =>
    new ManagedProcess({
      name: `${name}-apiserver`,
      command: toolPath('kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=1',
      ],
    });
  let apiserver = makeApiserver();
  const bootApiserver = async () => {
    apiserver.start();
    await waitFor(
      `${name} kube-apiserver at ${server}`,
      async () => (await kubeGet(server, token, '/readyz')).status === 200,
      { timeoutMs: 120_000, intervalMs: 250, isAlive: () => apiserver.isAlive() },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${apiserver.tail()}`);
    });
  };
  await bootApiserver();

  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${name}`,
      '  cluster:',
      `    server: ${server}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      `- name: ${name}`,
      '  context:',
      `    cluster: ${name}`,
      '    user: admin',
      `current-context: ${name}`,
      '',
    ].join('\n'),
  );

  return {
    server,
    kubeconfig,
    token,
    etcd,
    get apiserver() {
      return apiserver;
    },
    async restartApiserver() {
      await apiserver.stop();
      apiserver = makeApiserver();
      await bootApiserver();
    },
    async stop() {
      await apiserver.stop();
      await etcd.stop();
      etcd.removeData();
    },
  };
}
