import { describe, expect, it } from 'vitest';
import { loadConfig } from '@scimbridge/config';
import { controllerConfigSchema } from '../src/config.js';
import { OwnershipPolicy } from '../src/tenancy/ownership-policy.js';

const policy = OwnershipPolicy.parse([
  { namespace: 'team-a', organisationIds: ['acme', 'acme-*'], adopt: true },
  { namespace: 'team-b', organisationIds: ['beta-*'], keepTokenOnRelease: true },
  { namespace: '*', organisationIds: ['sandbox-*'] },
]);

describe('ownership policy (pure)', () => {
  it('lets a namespace claim exactly the ids and prefixes it is given', () => {
    expect(policy.mayClaim('team-a', 'acme')).toEqual({ allowed: true });
    expect(policy.mayClaim('team-a', 'acme-eu')).toEqual({ allowed: true });
    expect(policy.mayClaim('team-a', 'acmeco')).toMatchObject({
      allowed: false,
      reason: 'OrganisationNotAllowed',
    });
    expect(policy.mayClaim('team-b', 'acme')).toMatchObject({
      allowed: false,
      reason: 'OrganisationNotAllowed',
      message: expect.stringContaining('namespace team-b'),
    });
    expect(policy.mayClaim('anyone', 'sandbox-1')).toEqual({ allowed: true });
    expect(policy.mayClaim('anyone', 'beta-1')).toMatchObject({ allowed: false });
  });

  it('allows adoption only when the resource asks for it and a matching rule allows it', () => {
    expect(policy.mayAdopt('team-a', 'acme', false)).toMatchObject({
      allowed: false,
      reason: 'AdoptionRequired',
    });
    expect(policy.mayAdopt('team-a', 'acme', true)).toEqual({ allowed: true });
    expect(policy.mayAdopt('team-b', 'beta-1', true)).toMatchObject({
      allowed: false,
      reason: 'AdoptionNotAllowed',
    });
    expect(policy.mayAdopt('team-a', 'sandbox-1', true)).toMatchObject({ allowed: false });
  });

  it('revokes a released token unless the rule keeps it', () => {
    expect(policy.keepsTokenOnRelease('team-a', 'acme')).toBe(false);
    expect(policy.keepsTokenOnRelease('team-b', 'beta-1')).toBe(true);
  });

  it('is read from ORGANISATION_POLICY at start-up, empty (nothing allowed) when unset, and refuses bad input by name', () => {
    const env = { MONGODB_URI: 'mongodb://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1' };
    const parsed = loadConfig(controllerConfigSchema, {
      ...env,
      ORGANISATION_POLICY: '[{"namespace":"team-a","organisationIds":["acme-*"]}]',
      WATCH_NAMESPACE: 'team-a, team-b',
    });
    expect(new OwnershipPolicy(parsed.ORGANISATION_POLICY).mayClaim('team-a', 'acme-1')).toEqual({
      allowed: true,
    });
    expect(parsed.WATCH_NAMESPACE).toEqual(['team-a', 'team-b']);
    expect(new OwnershipPolicy(loadConfig(controllerConfigSchema, env).ORGANISATION_POLICY).empty).toBe(true);
    for (const bad of [
      '{not json',
      '[{"namespace":"team-a"}]',
      '[{"namespace":"a","organisationIds":["a*b"]}]',
    ])
      expect(() => loadConfig(controllerConfigSchema, { ...env, ORGANISATION_POLICY: bad })).toThrow(
        /ORGANISATION_POLICY/,
      );
  });
});
