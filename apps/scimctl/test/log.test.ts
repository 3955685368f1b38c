import { RequestLogWriter, requestLogEntry, type RequestLogEntry } from '@scimbridge/tenancy';
import { waitFor } from '@scimbridge/testing';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/index.js';
import { useScimctl } from './harness.js';

const cli = useScimctl();

function entry(
  orgId: string,
  at: Date,
  status: number,
  extra: Partial<RequestLogEntry> = {},
): RequestLogEntry {
  return requestLogEntry({
    orgId,
    at,
    method: 'GET',
    route: '/scim/v2/Users',
    status,
    reason: status === 401 ? 'token-regenerated' : status >= 400 ? `http-${status}` : null,
    detail:
      status === 401
        ? 'The bearer token was regenerated at 2026-01-01T00:00:00.000Z; update your IdP.'
        : null,
    durationMs: 3.5,
    fingerprint: 'abcd1234',
    userAgent: 'Okta SCIM',
    requestId: `req-${at.getTime()}`,
    ...extra,
  });
}

describe('scimctl log', () => {
  it('prints the latest records oldest first, filtered by status and time, bounded by --limit', async () => {
    // Written as the api writes them: the same writer, its per-minute bound low enough to drop some.
    const writer = new RequestLogWriter(cli.connection, {
      perOrgPerMinute: 6,
      retentionDays: 1,
      flushMs: 60_000,
    });
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    writer.record(entry('acme', at(120), 200));
    writer.record(entry('acme', at(30), 401));
    writer.record(entry('acme', at(20), 201, { method: 'POST', changedAttributes: ['userName', 'active'] }));
    writer.record(entry('acme', at(10), 429, { reason: 'rate-limited' }));
    writer.record(entry('acme', at(5), 503, { reason: 'paused' }));
    writer.record(entry('acme', at(1), 404, { route: '/scim/v2/Users/:id', resourceId: 'u-1' }));
    writer.record(entry('acme', at(1), 500));
    writer.record(entry('acme', at(1), 500));
    writer.record(entry('other', at(1), 401));
    await writer.close();

    const all = await cli.scimctl('--json', 'log', 'acme');
    expect(all.code, all.err.join()).toBe(0);
    const records = all.json();
    // Six kept, two dropped by the bound and counted in one `dropped` record.
    expect(records.filter((r) => r.kind === 'request').map((r) => r.status)).toEqual([
      200, 401, 201, 429, 503, 404,
    ]);
    expect(records.filter((r) => r.kind === 'dropped').map((r) => r.dropped)).toEqual([2]);
    expect(records.every((r) => r.orgId === 'acme')).toBe(true);

    const refused = await cli.scimctl('--json', 'log', 'acme', '--status', '4xx');
    expect(refused.json().map((r) => r.status)).toEqual([401, 429, 404]);
    const exact = await cli.scimctl('--json', 'log', 'acme', '--status', '401');
    expect(exact.json().map((r) => r.reason)).toEqual(['token-regenerated']);
    const failures = await cli.scimctl('--json', 'log', 'acme', '--status', 'failure', '--since', '15m');
    expect(failures.json().map((r) => r.status)).toEqual([429, 503, 404]);
    const since = await cli.scimctl(
      '--json',
      'log',
      'acme',
      '--since',
      at(25).toISOString(),
      '--status',
      'success',
    );
    expect(since.json().map((r) => r.status)).toEqual([201]);
    const latest = await cli.scimctl('--json', 'log', 'acme', '--status', '4xx', '-n', '2');
    expect(latest.json().map((r) => r.status)).toEqual([429, 404]);

    const human = await cli.scimctl('log', 'acme', '--status', '401');
    expect(human.out.join('\n')).toMatch(
      /^\S+Z 401 GET \/scim\/v2\/Users token-regenerated 3\.5ms token=abcd1234 "Okta SCIM" request=req-\d+\n {4}The bearer token was regenerated at/,
    );
    const path = await cli.scimctl('log', 'acme', '--status', '404');
    expect(path.out.join()).toContain('GET /scim/v2/Users/u-1 http-404');

    for (const bad of [
      ['--status', '6xx'],
      ['--since', 'yesterday'],
      ['-n', '0'],
    ]) {
      const run = await cli.scimctl('log', 'acme', ...bad);
      expect(run.code, bad.join(' ')).not.toBe(0);
    }
  });

  it('--follow prints what arrives after the first page, with the same filter, until stopped', async () => {
    const writer = new RequestLogWriter(cli.connection, {
      perOrgPerMinute: 100,
      retentionDays: 1,
      flushMs: 60_000,
    });
    writer.record(entry('follow', new Date(Date.now() - 60_000), 401));
    await writer.flush();
    const out: string[] = [];
    const stop = new AbortController();
    const running = runCli(['--json', 'log', 'follow', '--status', '4xx', '--follow'], {
      out: (t) => out.push(t),
      err: () => undefined,
      env: { MONGODB_URI: cli.uri, REDIS_URL: inject('redisUrl') },
      signal: stop.signal,
    });
    await waitFor('the first page', async () => out.length === 1, { timeoutMs: 5_000, intervalMs: 50 });
    writer.record(entry('follow', new Date(), 200)); // filtered out
    writer.record(entry('follow', new Date(), 429, { reason: 'rate-limited' }));
    await writer.close();
    await waitFor('the new record', async () => out.length === 2, { timeoutMs: 5_000, intervalMs: 50 });
    stop.abort();
    expect(await running).toBe(0);
    expect(out.map((line) => (JSON.parse(line) as { status: number }).status)).toEqual([401, 429]);
  });
});
