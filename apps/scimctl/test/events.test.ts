import {
  applyOrganisation,
  eventSigningKeyCollection,
  getOrganisation,
  loadEventSigningKeys,
  publishedKeys,
} from '@scimbridge/tenancy';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useScimctl } from './harness.js';

// `scimctl events …`: RFC 9967 event streams of an organisation and the service's signing keys, on real servers.
const cli = useScimctl();
const { scimctl, scimctlWith } = cli;

beforeAll(async () => {
  await applyOrganisation(cli.connection, 'streams', { displayName: 'streams' });
});

const ok = (run: { code: number; err: string[] }) => expect(run.code, run.err.join('\n')).toBe(0);

describe('scimctl events', () => {
  it('adds, replaces, lists and removes event streams; the Authorization value comes from the environment and is never printed', async () => {
    const add = await scimctlWith(
      { SIEM_AUTH: 'Bearer s3cret-value' },
      '--json',
      'events',
      'add',
      'streams',
      '--name',
      'siem',
      '--url',
      'https://siem.example.com/events',
      '--audience',
      'https://siem.example.com',
      '--authorization-env',
      'SIEM_AUTH',
    );
    ok(add);
    expect(add.json()[0]).toMatchObject({ orgId: 'streams', eventStreams: ['siem'] });
    ok(
      await scimctl(
        'events',
        'add',
        'streams',
        '--name',
        'audit',
        '--url',
        'https://audit.example.com/set',
        '--audience',
        'audit',
      ),
    );
    // Same name again replaces the stream.
    ok(
      await scimctl(
        'events',
        'add',
        'streams',
        '--name',
        'audit',
        '--url',
        'https://audit.example.com/v2/set',
        '--audience',
        'audit-v2',
      ),
    );
    const stored = (await getOrganisation(cli.connection, 'streams'))!.settings.audit.eventStreams;
    expect(stored).toEqual([
      {
        name: 'siem',
        url: 'https://siem.example.com/events',
        audience: 'https://siem.example.com',
        authorization: 'Bearer s3cret-value',
      },
      { name: 'audit', url: 'https://audit.example.com/v2/set', audience: 'audit-v2', authorization: null },
    ]);

    const list = await scimctl('--json', 'events', 'list', 'streams');
    ok(list);
    expect(list.json()[0]!.eventStreams).toEqual([
      {
        name: 'siem',
        url: 'https://siem.example.com/events',
        audience: 'https://siem.example.com',
        authorization: true,
      },
      { name: 'audit', url: 'https://audit.example.com/v2/set', audience: 'audit-v2', authorization: false },
    ]);
    const shown = await scimctl('--json', 'show', 'streams');
    ok(shown);
    expect(shown.out.join('\n')).not.toContain('s3cret-value');
    expect(list.out.join('\n')).not.toContain('s3cret-value');

    ok(await scimctl('events', 'remove', 'streams', 'audit'));
    expect(
      (await getOrganisation(cli.connection, 'streams'))!.settings.audit.eventStreams.map((s) => s.name),
    ).toEqual(['siem']);
    const missing = await scimctl('events', 'remove', 'streams', 'audit');
    expect(missing.code).not.toBe(0);
    expect(missing.err.join('\n')).toContain('has no event stream audit');
  });

  it('refuses an 11th stream and a non-URL, changing nothing', async () => {
    for (let i = 0; i < 9; i += 1)
      ok(
        await scimctl(
          'events',
          'add',
          'streams',
          '--name',
          `s${i}`,
          '--url',
          `https://r${i}.example.com/set`,
          '--audience',
          `r${i}`,
        ),
      );
    expect((await getOrganisation(cli.connection, 'streams'))!.settings.audit.eventStreams).toHaveLength(10);
    const eleventh = await scimctl(
      'events',
      'add',
      'streams',
      '--name',
      'x',
      '--url',
      'https://x.example.com',
      '--audience',
      'x',
    );
    expect(eleventh.code).not.toBe(0);
    const badUrl = await scimctl(
      'events',
      'add',
      'streams',
      '--name',
      's0',
      '--url',
      'not a url',
      '--audience',
      'x',
    );
    expect(badUrl.code).not.toBe(0);
    const after = (await getOrganisation(cli.connection, 'streams'))!.settings.audit.eventStreams;
    expect(after).toHaveLength(10);
    expect(after.find((s) => s.name === 's0')!.url).toBe('https://r0.example.com/set');
  });

  it('apply -f takes event streams inline, and refuses an authorizationSecretRef (no Secrets without Kubernetes)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scimctl-events-'));
    const inline = join(dir, 'inline.yaml');
    await writeFile(
      inline,
      [
        'organisationId: applied-streams',
        'displayName: Applied',
        'audit:',
        '  eventStreams:',
        '    - { name: siem, url: "https://siem.example.com/set", audience: siem, authorization: "Bearer x" }',
      ].join('\n'),
    );
    ok(await scimctl('apply', '-f', inline));
    expect((await getOrganisation(cli.connection, 'applied-streams'))!.settings.audit.eventStreams).toEqual([
      { name: 'siem', url: 'https://siem.example.com/set', audience: 'siem', authorization: 'Bearer x' },
    ]);
    const byRef = join(dir, 'ref.yaml');
    await writeFile(
      byRef,
      [
        'organisationId: applied-streams',
        'displayName: Applied',
        'audit:',
        '  eventStreams:',
        '    - { name: siem, url: "https://siem.example.com/set", audience: siem, authorizationSecretRef: { name: s } }',
      ].join('\n'),
    );
    const refused = await scimctl('apply', '-f', byRef);
    expect(refused.code).not.toBe(0);
    expect(refused.err.join('\n')).toContain('audit.eventStreams[0].authorizationSecretRef needs Kubernetes');
  });

  it('lists the signing keys without private parts and rotates: the new key is published before it signs, the old one kept', async () => {
    const first = await scimctl('--json', 'events', 'keys', 'list');
    ok(first);
    const [initial] = first.json()[0]!.keys as { kid: string }[];
    expect(first.out.join('\n')).not.toMatch(/"d"|privateJwk/);

    const rotate = await scimctl(
      '--json',
      'events',
      'keys',
      'rotate',
      '--publish-before',
      '10m',
      '--grace',
      '1d',
    );
    ok(rotate);
    const result = rotate.json()[0]! as { kid: string; activeFrom: string };
    const delay = Date.parse(result.activeFrom) - Date.now();
    expect(delay).toBeGreaterThan(9 * 60_000);
    expect(delay).toBeLessThanOrEqual(10 * 60_000);
    const set = await loadEventSigningKeys(eventSigningKeyCollection(cli.connection));
    expect(
      publishedKeys(set)
        .map((k) => k.kid)
        .sort(),
    ).toEqual([initial!.kid, result.kid].sort());
    const old = set.keys.find((k) => k.kid === initial!.kid)!;
    // Published until a day after the new key starts signing.
    expect(old.verifyUntil!.getTime() - Date.parse(result.activeFrom)).toBe(86_400_000);
    // Ten minutes from now the new key signs, a day after that the old one is gone from the JWKS.
    expect(
      publishedKeys(set, new Date(Date.parse(result.activeFrom) + 86_400_001)).map((k) => k.kid),
    ).toEqual([result.kid]);
  });
});
