import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRegistry, keyFieldName, normaliseKey, toStored } from '@scimbridge/scim-core';
import type mongoose from 'mongoose';
import { FERRETDB_PROFILE, uuidv7, withFlatKeys } from '@scimbridge/store';
import { freePort, waitFor } from '@scimbridge/testing';

// What the api benchmarks share: seeding users in the stored shape and starting the built api as a process.

const type = createRegistry().resourceType('User');

/** A SCIM-managed user in the stored shape, for seeding benchmarks directly (not through the api). */
export function userDoc(orgId: string, userName: string) {
  const now = new Date();
  // With the embedded server's key copies (`emailKeys`), as the api stores a user there; MongoDB ignores them.
  return withFlatKeys(FERRETDB_PROFILE, 'users', {
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
  });
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

/** A group with these members, in the stored shape (one membership document per member). */
export async function seedGroup(
  db: mongoose.Connection,
  orgId: string,
  name: string,
  memberIds: string[],
): Promise<string> {
  const now = new Date();
  const id = uuidv7();
  await db.collection('groups').insertOne({
    _id: id,
    orgId,
    displayName: name,
    [keyFieldName('displayName')]: normaliseKey(name),
    meta: { resourceType: 'Group', created: now, lastModified: now, version: 1 },
  } as never);
  for (let start = 0; start < memberIds.length; start += 10_000) {
    await db.collection('memberships').insertMany(
      memberIds.slice(start, start + 10_000).map((m) => ({
        _id: `${id}:${m}`,
        orgId,
        groupId: id,
        memberId: m,
        memberType: 'User',
        addedAt: now,
      })) as never[],
      { ordered: false },
    );
  }
  return id;
}
