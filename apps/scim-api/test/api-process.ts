import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { inject } from 'vitest';

/** A real scim-api process from dist/, on the given database of the suite's servers, Ready. */
export interface ApiProcess {
  process: ChildProcess;
  /** `http://127.0.0.1:<port>/scim/v2` */
  base: string;
  /** Its CPU time (utime + stime) and resident memory, from /proc. */
  usage(): { cpuMs: number; rssMb: number };
  stop(): Promise<void>;
}

export async function startApiProcess(dbName: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  const uri = new URL(inject('mongodbUri'));
  uri.pathname = `/${dbName}`;
  const child = spawn(process.execPath, [fileURLToPath(new URL('../dist/main.js', import.meta.url))], {
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      MONGODB_URI: uri.toString(),
      REDIS_URL: inject('redisUrl'),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor('scim-api /readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 30_000,
    isAlive: () => child.exitCode === null,
  });
  return {
    process: child,
    base: `http://127.0.0.1:${port}/scim/v2`,
    usage() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return {
        cpuMs: (Number(fields[11]) + Number(fields[12])) * 10,
        rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
      };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
