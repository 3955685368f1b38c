import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { ManagedProcess, dataDir, freePort, redisPing, toolPath, waitFor } from '@scimbridge/testing';

// The fault suite's own servers: it stops and kills them, so it never shares them with other projects.
// Each one restarts on the same port (and data directory), as a failover or a restarted pod would.

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

async function mongoPing(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, directConnection: true });
  try {
    return (await client.db('admin').command({ ping: 1 })).ok === 1;
  } finally {
    await client.close();
  }
}

/** FerretDB (SQLite) on a fixed port: killed with SIGKILL and started again on the same data. */
export class FaultFerretDB {
  private proc: ManagedProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<FaultFerretDB> {
    const server = new FaultFerretDB(await freePort(), dataDir('faults-ferretdb'));
    await server.start();
    return server;
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  uriFor(database: string): string {
    return `mongodb://127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const proc = new ManagedProcess({
      name: 'faults-ferretdb',
      command: toolPath('ferretdb'),
      args: ['-listen', `127.0.0.1:${this.port}`, '-sqlite-dir', this.dir, '-log-level', 'warn'],
      dataDir: this.dir,
    });
    this.proc = proc;
    proc.start();
    await waitFor(`faults-ferretdb on ${this.port}`, () => mongoPing(this.uri), {
      timeoutMs: 30_000,
      isAlive: () => proc.isAlive(),
    });
  }

  /** SIGKILL: the server vanishes without closing connections cleanly. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.killNow();
    await waitFor('faults-ferretdb exited', async () => !proc.isAlive(), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    await proc.stop();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc?.removeData();
  }
}

/**
 * redis-server with AOF persistence (what BullMQ requires of a production Redis), stopped and started
 * on the same port and directory.
 */
export class FaultRedis {
  private proc: ManagedProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<FaultRedis> {
    const server = new FaultRedis(await freePort(), dataDir('faults-redis'));
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = new ManagedProcess({
      name: 'faults-redis',
      command: toolPath('redis-server'),
      args: [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--dir',
        this.dir,
      ],
      dataDir: this.dir,
    });
    this.proc = proc;
    proc.start();
    await waitFor(`faults-redis on ${this.port}`, () => redisPing(this.port), {
      timeoutMs: 30_000,
      isAlive: () => proc.isAlive(),
    });
  }

  /** SIGTERM (Redis writes its AOF and exits); clients see their connections close. */
  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  async remove(): Promise<void> {
    await this.proc?.stop();
    this.proc?.removeData();
  }
}

export type ServiceKind = 'scim-api' | 'scim-worker';

/** A built service (`apps/<app>/dist/main.js`) as its own process on a fixed port; restartable. */
export class ServiceProcess {
  private proc: ManagedProcess | undefined;
  starts = 0;

  constructor(
    readonly kind: ServiceKind,
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  isAlive(): boolean {
    return this.proc?.isAlive() ?? false;
  }

  /** Starts the process and waits until its /readyz answers 200. */
  async start(timeoutMs = 60_000): Promise<void> {
    this.launch();
    await this.waitReady(timeoutMs);
  }

  /** Starts the process without waiting for readiness. */
  launch(): void {
    this.starts += 1;
    const proc = new ManagedProcess({
      name: this.name,
      command: process.execPath,
      args: [`${repoRoot}/apps/${this.kind}/dist/main.js`],
      env: {
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        ...this.env,
        PORT: String(this.port),
      },
    });
    this.proc = proc;
    proc.start();
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const proc = this.proc!;
    await waitFor(
      `${this.name} /readyz`,
      async () => (await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200,
      { timeoutMs, intervalMs: 100, isAlive: () => proc.isAlive() },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${proc.tail()}`);
    });
  }

  /** SIGKILL, waiting until the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.killNow();
    await waitFor(`${this.name} exited`, async () => !proc.isAlive(), { timeoutMs: 5_000, intervalMs: 10 });
    await proc.stop();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  tail(lines = 30): string {
    return this.proc?.tail(lines) ?? '';
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

/** `scimctl` (the operator's command, from its build), as a child process. */
export function scimctl(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${repoRoot}/apps/scimctl/dist/main.js`, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, startedAt, endedAt: Date.now() });
      },
    );
  });
}
