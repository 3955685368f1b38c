import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@scimbridge/testing';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The README's first command (`make dev` = scripts/dev.sh) on its default store, FerretDB over PostgreSQL:
// it must come up, run the demo exchange, print the summary and keep the services' logs out of the terminal.
describe('make dev (scripts/dev.sh)', () => {
  const state = mkdtempSync(join(tmpdir(), 'scimbridge-dev-'));
  // PostgreSQL runs as user postgres (the tests run as root here), which must reach its data directory.
  chmodSync(state, 0o755);
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('brings up the stack on FerretDB over PostgreSQL, shows the demo exchange and writes JSON logs to files', async () => {
    const ports = {
      MONGO_PORT: await freePort(),
      REDIS_PORT: await freePort(),
      POSTGRES_PORT: await freePort(),
      API_PORT: await freePort(),
      WORKER_PORT: await freePort(),
    };
    const child = spawn('bash', [join(root, 'scripts/dev.sh')], {
      cwd: root,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        DEV_STATE_DIR: state,
        DEV_EXIT_AFTER_START: '1',
        DEV_SKIP_BUILD: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const terminal = stdout + stderr;
    expect(code, terminal.split('\n').slice(-15).join(' | ')).toBe(0);

    expect(terminal).toContain('scimbridge is up (embedded default)');
    expect(terminal).toMatch(/store\s+FerretDB on PostgreSQL \d+/);
    expect(terminal).toMatch(/note\s+embedded FerretDB v1 is for evaluation/);
    // The demo exchange: the lookup misses, the create succeeds, the lookup (other case) finds the user with the
    // default group the worker added.
    expect(terminal).toMatch(
      /GET\s+\/Users\?filter=userName eq "dev.user@example.com"\s+200\s+totalResults=0/,
    );
    expect(terminal).toMatch(/POST\s+\/Users\s+201\s+id=\S+ dev\.user@example\.com/);
    expect(terminal).toMatch(/totalResults=1 id=\S+ groups=\["Everyone"\]/);
    const token = readFileSync(join(state, 'demo-token'), 'utf8').trim();
    expect(token.length).toBeGreaterThan(20);
    expect(terminal).toContain(join(state, 'demo-token'));

    // The services log JSON to files, none of it to the terminal.
    const logs = join(state, 'logs');
    for (const name of ['scim-api', 'scim-worker', 'ferretdb', 'postgres', 'redis'])
      expect(existsSync(join(logs, `${name}.log`)), name).toBe(true);
    const apiLines = readFileSync(join(logs, 'scim-api.log'), 'utf8').split('\n').filter(Boolean);
    expect(apiLines.length).toBeGreaterThan(0);
    for (const line of apiLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(terminal).not.toMatch(/^\{"level"/m);
    expect(readdirSync(logs).length).toBeGreaterThanOrEqual(5);
  }, 180_000);
});
