import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@scimbridge/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON lines with a level label, the service name and an ISO time', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'scim-api' }, stream).info({ orgId: 'o1' }, 'hello');
    expect(lines[0]).toMatchObject({ level: 'info', service: 'scim-api', orgId: 'o1', msg: 'hello' });
    expect(String(lines[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('never writes bearer tokens or passwords', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'scim-api' }, stream).info(
      { req: { headers: { authorization: 'Bearer scimb_secret' } }, user: { password: 'p@ss' } },
      'request',
    );
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('scimb_secret');
    expect(text).not.toContain('p@ss');
    expect(text).toContain('[redacted]');
  });
});
