import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolPath } from '@scimbridge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const run = promisify(execFile);

let h: Harness;
let base: string;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  token = (await h.organisation()).token;
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `${address}/scim/v2`;
});
afterAll(async () => h.close());

describe('scim2-tester (external compliance checker) against the live api', () => {
  it('reports no failures', async () => {
    const { stdout } = await run(
      toolPath('scim'),
      ['--url', base, '--header', `Authorization: Bearer ${token}`, 'test'],
      { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
    ).catch((error: { stdout?: string; stderr?: string }) => ({
      stdout: `${error.stdout ?? ''}\n${error.stderr ?? ''}`,
    }));
    // Output: one `STATUS check_name` line per check, then indented reason lines.
    const lines = stdout.split('\n');
    const statuses = lines.filter((line) => /^[A-Z_]+ /.test(line));
    const failures = lines.flatMap((line, i) =>
      /^[A-Z_]+ /.test(line) && !/^(SUCCESS|SKIPPED) /.test(line)
        ? [
            `${line}: ${lines
              .slice(i + 1, i + 4)
              .join(' | ')
              .trim()
              .slice(0, 1200)}`,
          ]
        : [],
    );
    console.log(failures.join('\n'));
    expect(statuses.length).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  }, 180_000);
});
