import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startFerretDB } from './ferretdb.js';
import { startKube } from './kube.js';
import { runDir } from './process.js';
import { startRedis } from './redis.js';

export type ServerKind = 'mongodb' | 'redis' | 'kube';

declare module 'vitest' {
  export interface ProvidedContext {
    mongodbUri: string;
    redisUrl: string;
    kubeconfig: string;
  }
}

const envName: Record<ServerKind, 'MONGODB_URI' | 'REDIS_URL' | 'KUBECONFIG'> = {
  mongodb: 'MONGODB_URI',
  redis: 'REDIS_URL',
  kube: 'KUBECONFIG',
};
const provideName = { mongodb: 'mongodbUri', redis: 'redisUrl', kube: 'kubeconfig' } as const;

/**
 * For a vitest globalSetup: makes each needed server available to the project's tests via `inject()`.
 * A server named by its environment variable (MONGODB_URI, REDIS_URL, KUBECONFIG) is used as is, so the
 * same suites run against external servers; otherwise the harness starts one and exports the variable,
 * which lets later projects in the same run share it. Returns the teardown.
 */
export async function provideServers(
  project: TestProject,
  needs: ServerKind[],
): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  runDir();
  for (const kind of needs) {
    const variable = envName[kind];
    let value = process.env[variable];
    if (!value) {
      const started = await start(kind);
      value = started.value;
      process.env[variable] = value;
      stops.push(async () => {
        await started.stop();
        if (process.env[variable] === value) delete process.env[variable];
      });
    }
    project.provide(provideName[kind], value);
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

async function start(kind: ServerKind): Promise<{ value: string; stop(): Promise<void> }> {
  switch (kind) {
    case 'mongodb': {
      const s = await startFerretDB();
      return { value: s.uri, stop: () => s.stop() };
    }
    case 'redis': {
      const s = await startRedis();
      return { value: s.url, stop: () => s.stop() };
    }
    case 'kube': {
      const s = await startKube();
      return { value: s.kubeconfig, stop: () => s.stop() };
    }
  }
}
