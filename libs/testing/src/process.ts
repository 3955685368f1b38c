import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const running = new Set<ManagedProcess>();
let cleanupInstalled = false;

// Children must not outlive the test run, also when it is interrupted or crashes.
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const p of running) p.killNow();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** The directory holding every server's data and logs for this test run (reporters print logs from it). */
export function runDir(): string {
  if (!process.env.SCIMBRIDGE_TEST_RUN_DIR) {
    process.env.SCIMBRIDGE_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'scimbridge-test-'));
  }
  return process.env.SCIMBRIDGE_TEST_RUN_DIR;
}

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Data directory, removed on stop unless SCIMBRIDGE_KEEP_TEST_DIRS is set. */
  dataDir?: string;
}

/** A server process started by the harness: logs to a file in the run directory, stopped with SIGTERM then SIGKILL. */
export class ManagedProcess {
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited = true;
  private stdoutListeners: ((line: string) => void)[] = [];

  constructor(readonly options: ManagedProcessOptions) {
    mkdirSync(join(runDir(), 'logs'), { recursive: true });
    this.logFile = join(runDir(), 'logs', `${options.name}.log`);
  }

  start(): void {
    installCleanup();
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.options.command, this.options.args, {
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = false;
    running.add(this);
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      this.log?.write(chunk);
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        for (const listener of this.stdoutListeners) listener(line);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.log?.write(chunk));
    child.on('exit', (code, signal) => {
      this.exited = true;
      running.delete(this);
      this.log?.write(`\n[harness] ${this.options.name} exited code=${code} signal=${signal}\n`);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  isAlive(): boolean {
    return !this.exited;
  }

  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${this.options.name}: no line matching ${pattern} in ${timeoutMs} ms\n${this.tail()}`),
          ),
        timeoutMs,
      );
      this.stdoutListeners.push((line) => {
        if (pattern.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      this.child?.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${this.options.name} exited during start-up\n${this.tail()}`));
      });
    });
  }

  /** The last lines of the server's log, for failure messages. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (child && !this.exited) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }

  /** Abrupt stop (SIGKILL), for crash tests and process-exit cleanup. */
  killNow(): void {
    if (this.child && !this.exited) this.child.kill('SIGKILL');
  }

  removeData(): void {
    if (this.options.dataDir && !process.env.SCIMBRIDGE_KEEP_TEST_DIRS) {
      rmSync(this.options.dataDir, { recursive: true, force: true });
    }
  }
}

/** A fresh directory under the run directory. */
export function dataDir(name: string): string {
  const dir = join(
    runDir(),
    'data',
    `${name}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * `SCIMBRIDGE_QUERY_SHAPES_DIR` when the run records query shapes (docs/query-shapes.md), for the environment of a
 * spawned service that does not inherit the test's environment; empty otherwise.
 */
export function queryShapesEnv(): Record<string, string> {
  const dir = process.env.SCIMBRIDGE_QUERY_SHAPES_DIR;
  return dir ? { SCIMBRIDGE_QUERY_SHAPES_DIR: dir } : {};
}
