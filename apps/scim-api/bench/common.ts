import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRegistry, toStored } from '@scimbridge/scim-core';
import { uuidv7 } from '@scimbridge/store';
import { freePort, waitFor } from '@scimbridge/testing';

// What the api benchmarks share: seeding users in the stored shape and starting the built api as a process.

const type = createRegistry().resourceType('User');

/** A SCIM-managed user in the stored shape, for seeding benchmarks directly (not through the api). */
export function userDoc(orgId: string, userName: string) {
  const now = new Date();
  return {
    ...toStored(
      type,
      {
        id: uuidv7(),
        userName,
        name: { givenName: 'Bench', familyName: 'User' },
        emails: [{ value: userName, type: 'work', primary: true }],
        active: true,
      },
      { created: now, lastModified: now, version: 1 },
    ),
    orgId,
    scim: { managed: true, provisionedAt: now, deletedAt: null },
    auth: { ssoOnly: true },
  };
}

/**
 * The built api (`dist/main.js`, or `main`: e.g. an older commit's build) as its own process on `dbName`, Ready.
 * BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") are passed to its node, to profile it.
 */
export async function startBenchApi(
  mongoUri: string,
  dbName: string,
  redisUrl: string,
  main = fileURLToPath(new URL('../dist/main.js', import.meta.url)),
): Promise<{ child: ChildProcess; port: number }> {
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const uri = new URL(mongoUri);
  uri.pathname = `/${dbName}`;
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      PATH: process.env.PATH,
      MONGODB_URI: uri.toString(),
      REDIS_URL: redisUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(
    'bench api',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    {
      timeoutMs: 60_000,
      isAlive: () => child.exitCode === null,
    },
  );
  return { child, port };
}
