import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy } from '../src/audit/egress.js';
import { pushSecurityEvent } from '../src/audit/push.js';
import { SCIM_EVENT, scimEventsOf, securityEventClaims } from '../src/audit/security-event.js';
import type { AuditEventDocument } from '../src/store/documents.js';

const event = (overrides: Partial<AuditEventDocument>): AuditEventDocument => ({
  _id: '0190b7e2-0000-7000-8000-000000000001',
  orgId: 'org',
  action: 'user.updated',
  actor: { type: 'token', id: 'tok' },
  resourceType: 'User',
  resourceId: 'u-1',
  changedAttributes: ['displayName'],
  requestId: 'req-1',
  traceId: null,
  occurredAt: new Date('2026-05-14T10:00:00Z'),
  dispatchedAt: null,
  ...overrides,
});

describe('the RFC 9967 form of an audit event', () => {
  it('maps each action to its event URIs (docs/worker.md "SCIM events")', () => {
    expect(
      scimEventsOf(event({ action: 'user.created', changedAttributes: ['userName', 'emails'] })),
    ).toEqual({
      [SCIM_EVENT.createNotice]: { attributes: ['userName', 'emails'] },
    });
    expect(scimEventsOf(event({ details: { operation: 'put' } }))).toEqual({
      [SCIM_EVENT.putNotice]: { attributes: ['displayName'] },
    });
    expect(scimEventsOf(event({ details: { operation: 'patch' } }))).toEqual({
      [SCIM_EVENT.patchNotice]: { attributes: ['displayName'] },
    });
    expect(scimEventsOf(event({ action: 'user.deactivated', changedAttributes: ['active'] }))).toEqual({
      [SCIM_EVENT.deactivate]: {},
      [SCIM_EVENT.patchNotice]: { attributes: ['active'] },
    });
    expect(scimEventsOf(event({ action: 'user.reactivated', changedAttributes: ['active'] }))).toEqual({
      [SCIM_EVENT.activate]: {},
      [SCIM_EVENT.patchNotice]: { attributes: ['active'] },
    });
    expect(scimEventsOf(event({ action: 'group.deleted', resourceType: 'Group' }))).toEqual({
      [SCIM_EVENT.delete]: {},
    });
    expect(scimEventsOf(event({ action: 'user.linked' }))).toBeNull();
    expect(scimEventsOf(event({ action: 'auth.failed', resourceType: null, resourceId: null }))).toBeNull();
  });

  it('a member change is a PatchOp of the ids, or a notice when the delta was too large to record', () => {
    const members = event({
      action: 'group.members.changed',
      resourceType: 'Group',
      changedAttributes: ['members'],
      details: { membersAdded: ['a', 'b'], membersRemoved: ['c"d'] },
    });
    expect(scimEventsOf(members)).toEqual({
      [SCIM_EVENT.patchFull]: {
        data: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [
            { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
            { op: 'remove', path: 'members[value eq "c\\"d"]' },
          ],
        },
      },
    });
    expect(scimEventsOf({ ...members, details: { membersTruncated: true, operation: 'put' } })).toEqual({
      [SCIM_EVENT.putNotice]: { attributes: ['members'] },
    });
  });

  it('claims: jti is the event id, sub_id the resource path, txn the request, toe the change time', () => {
    const claims = securityEventClaims(event({ action: 'user.created', details: { externalId: 'idp-1' } }), {
      issuer: 'https://scim.example.com',
      audience: 'rcv',
      now: new Date('2026-05-14T10:00:05Z'),
    });
    expect(claims).toMatchObject({
      iss: 'https://scim.example.com',
      aud: 'rcv',
      jti: '0190b7e2-0000-7000-8000-000000000001',
      iat: Date.parse('2026-05-14T10:00:05Z') / 1000,
      toe: Date.parse('2026-05-14T10:00:00Z') / 1000,
      txn: 'req-1',
      sub_id: { format: 'scim', uri: '/Users/u-1', externalId: 'idp-1' },
    });
    expect(claims).not.toHaveProperty('sub');
  });
});

describe('RFC 8935 push answers (a real receiver on loopback)', () => {
  let server: Server;
  let answer: { status: number; body?: string; headers?: Record<string, string> } = { status: 202 };
  const seen: { type: string | undefined; auth: string | undefined; body: string }[] = [];
  const egress = new EgressPolicy({
    AUDIT_WEBHOOK_ALLOW_HTTP: true,
    AUDIT_WEBHOOK_ALLOWED_CIDRS: ['127.0.0.0/8'],
    AUDIT_WEBHOOK_DENIED_CIDRS: [],
  });
  let url = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ type: req.headers['content-type'], auth: req.headers.authorization, body });
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  const push = (authorization: string | null = null) =>
    pushSecurityEvent({
      stream: { name: 's', url, audience: 'a', authorization },
      token: 'eyJ.header.sig',
      timeoutMs: 2_000,
      egress,
    });

  it('posts the compact SET as application/secevent+jwt with the configured Authorization; 202 acknowledges', async () => {
    answer = { status: 202 };
    expect(await push('Bearer t')).toEqual({ ok: true, status: 202 });
    expect(seen.at(-1)).toEqual({
      type: 'application/secevent+jwt',
      auth: 'Bearer t',
      body: 'eyJ.header.sig',
    });
  });

  it('a 400 is final: its RFC 8935 err code is the reason, the receiver description is not kept', async () => {
    answer = {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ err: 'invalid_key', description: 'internal detail from the receiver' }),
    };
    const refused = await push();
    expect(refused).toMatchObject({ ok: false, retryable: false, reason: 'set_invalid_key', status: 400 });
    expect(JSON.stringify(refused)).not.toContain('internal detail');
    answer = { status: 400, body: 'not json' };
    expect(await push()).toMatchObject({ ok: false, retryable: false, reason: 'set_error' });
    answer = { status: 400, body: JSON.stringify({ err: 'made_up_code' }) };
    expect(await push()).toMatchObject({ ok: false, retryable: false, reason: 'set_error' });
  });

  it('5xx and 429 are retried (with Retry-After), other 4xx are final, and the egress policy still applies', async () => {
    answer = { status: 503 };
    expect(await push()).toMatchObject({ ok: false, retryable: true, reason: 'http_5xx' });
    answer = { status: 429, headers: { 'retry-after': '7' } };
    expect(await push()).toMatchObject({
      ok: false,
      retryable: true,
      reason: 'http_429',
      retryAfterMs: 7_000,
    });
    answer = { status: 401 };
    expect(await push()).toMatchObject({ ok: false, retryable: false, reason: 'http_4xx' });
    const strict = new EgressPolicy({
      AUDIT_WEBHOOK_ALLOW_HTTP: false,
      AUDIT_WEBHOOK_ALLOWED_CIDRS: [],
      AUDIT_WEBHOOK_DENIED_CIDRS: [],
    });
    const before = seen.length;
    expect(
      await pushSecurityEvent({
        stream: { name: 's', url, audience: 'a', authorization: null },
        token: 't',
        timeoutMs: 2_000,
        egress: strict,
      }),
    ).toMatchObject({ ok: false, retryable: false, reason: 'egress_scheme' });
    const noLoopback = new EgressPolicy({
      AUDIT_WEBHOOK_ALLOW_HTTP: true,
      AUDIT_WEBHOOK_ALLOWED_CIDRS: [],
      AUDIT_WEBHOOK_DENIED_CIDRS: [],
    });
    expect(
      await pushSecurityEvent({
        stream: { name: 's', url, audience: 'a', authorization: null },
        token: 't',
        timeoutMs: 2_000,
        egress: noLoopback,
      }),
    ).toMatchObject({ ok: false, retryable: false, reason: 'egress_address' });
    expect(seen.length).toBe(before);
  });
});
