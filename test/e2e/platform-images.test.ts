import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, queryShapesEnv, waitFor } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// No container runtime here, so the images' build steps run directly: the build stage's commands in a copy of
// the Docker build context (the repository filtered by .dockerignore), then the runtime stage's CMD, with the
// chart's NODE_OPTIONS, from the deployed directory alone.
const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const apps = ['scim-api', 'scim-worker', 'scim-controller'] as const;
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** .dockerignore rules as Docker applies them: last match wins, `!` re-includes, a matched directory excludes its files. */
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const glob = negate ? line.slice(1) : line;
      const source = glob
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === '**/') return '(?:.*/)?';
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negate;
    return ignored;
  };
}

async function pnpm(cwd: string, args: string[]) {
  return run('pnpm', args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, CI: 'true' } });
}

async function startDeployed(dir: string, app: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      ...queryShapesEnv(),
      NODE_ENV: 'production',
      // Exactly what the chart sets: the bare specifier resolves from the app's own node_modules.
      NODE_OPTIONS: '--import=@scimbridge/telemetry/otel --max-old-space-size=384',
      OTEL_SDK_DISABLED: 'true',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MONGODB_URI: inject('mongodbUri'),
      REDIS_URL: inject('redisUrl'),
      KUBECONFIG: inject('kubeconfig'),
      LEADER_ELECTION: 'false',
      WATCH_NAMESPACE: `images-${Date.now()}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${app} /healthz from ${dir}`, async () => (await fetch(`${base}/healthz`)).ok, {
      timeoutMs: 30_000,
      isAlive: () => child.exitCode === null,
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return { base, child, exit, output: () => output };
}

/**
 * The Docker build context as a directory: the tracked files .dockerignore lets through. The build stage's
 * commands then run inside it (never in the repository, whose node_modules a deploy must not touch).
 */
async function buildContext(): Promise<{ dir: string; sent: string[] }> {
  const ignored = dockerignore();
  const tracked = (await run('git', ['ls-files', '-z'], { cwd: root })).stdout.split('\0').filter(Boolean);
  const dir = tempDir('docker-context-');
  const sent = tracked.filter((file) => !ignored(file) && existsSync(join(root, file)));
  for (const file of sent) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(root, file), join(dir, file));
  }
  return { dir, sent };
}

let context: { dir: string; sent: string[] };

beforeAll(async () => {
  context = await buildContext();
  // The build stage's commands, in the Dockerfile's order (pnpm fetch only warms the store, already warm here).
  // The repository's store, even if the temporary directory is on another filesystem (pnpm keeps one per disk).
  const store = (await pnpm(root, ['store', 'path'])).stdout.trim();
  await pnpm(context.dir, [
    'install',
    '--frozen-lockfile',
    '--offline',
    '--store-dir',
    store,
    '--reporter=append-only',
  ]);
  await pnpm(context.dir, [
    'exec',
    'turbo',
    'run',
    'build',
    ...apps.map((app) => `--filter=@scimbridge/${app}...`),
  ]);
  for (const app of apps) {
    await pnpm(context.dir, [
      '--filter',
      `@scimbridge/${app}`,
      'deploy',
      '--prod',
      '--legacy',
      join(context.dir, 'out', app),
    ]);
  }
}, 400_000);

describe('the Docker build context', () => {
  it('sends the sources and the lockfile, not tests, charts, git history or local builds', () => {
    const { sent } = context;
    expect(sent).toContain('pnpm-lock.yaml');
    expect(sent).toContain('apps/scim-api/src/main.ts');
    expect(sent.some((f) => f.startsWith('charts/') || f.startsWith('.git/') || f.includes('/dist/'))).toBe(
      false,
    );
    expect(sent.some((f) => /(^|\/)test\//.test(f) && f !== 'test/package.json')).toBe(false);
    // The system-test package stays: the lockfile lists it as a workspace member.
    expect(sent).toContain('test/package.json');
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('is multi-stage on node:24-slim, builds the APP it is given, runs as non-root, and starts node directly', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(dockerfile).toMatch(/^ARG APP$/m);
    for (const app of apps) expect(dockerfile).toContain(app); // the APP check names every service
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile --offline/);
    expect(dockerfile).toContain('pnpm exec turbo run build --filter=@scimbridge/${APP}...');
    expect(dockerfile).toContain('pnpm --filter @scimbridge/${APP} deploy --prod --legacy /out');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/main\.js"\]$/m);
  });
});

describe.each(apps)('%s image', (app) => {
  it("deploys to a self-contained directory that starts with the chart's NODE_OPTIONS and serves /healthz", async () => {
    const out = join(context.dir, 'out', app);
    // Production dependencies only, and workspace packages copied in, not linked back to the repository.
    expect(existsSync(join(out, 'node_modules/@scimbridge/testing'))).toBe(false);
    expect(existsSync(join(out, 'node_modules/vitest'))).toBe(false);
    expect(realpathSync(join(out, 'node_modules/@scimbridge/telemetry')).startsWith(realpathSync(out))).toBe(
      true,
    );
    const proc = await startDeployed(out, app);
    const metrics = await (await fetch(`${proc.base}/metrics`)).text();
    expect(metrics).toContain(`process_cpu_seconds_total{service="${app}"}`);
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
  });
});
