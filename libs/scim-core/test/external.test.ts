// A resource type registered after the RFC ones, with its own external reference attribute: the core renders,
// validates and patches it from the ResourceType and the registry alone (issue 11).
import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  createRegistry,
  fromStored,
  patchNeedsMembers,
  ResourceType,
  toStored,
  validateCreate,
  validateReplace,
  type ResourceTypeInput,
  type ScimResource,
} from '../src/index.js';

const TEAM = 'urn:acme:params:scim:schemas:core:2.0:Team';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BASE = 'https://h/scim/v2';

/** A registry with a `Team` whose `people` (Users or Teams) live outside its document, like Group `members`. */
function teamRegistry(endpoint = '/Teams', people: Record<string, unknown> = {}) {
  const registry = createRegistry();
  const users = registry.resourceType('User');
  registry.registerSchema({
    id: TEAM,
    name: 'Team',
    attributes: [
      { name: 'displayName', required: true },
      {
        name: 'people',
        type: 'complex',
        multiValued: true,
        subAttributes: [
          { name: 'value', caseExact: true, mutability: 'immutable' },
          { name: '$ref', type: 'reference', referenceTypes: ['User', 'Team'], mutability: 'immutable' },
          { name: 'type', canonicalValues: ['User', 'Team'], mutability: 'immutable' },
          { name: 'display', mutability: 'readOnly' },
        ],
        ...people,
      },
    ],
  });
  const input: ResourceTypeInput = { id: 'Team', endpoint, schema: TEAM, external: ['people'] };
  const teams = registry.registerResourceType(input);
  return { registry, users, teams, input };
}

const team = (extra: Record<string, unknown> = {}): ScimResource => ({
  schemas: [TEAM],
  id: 't1',
  displayName: 'Platform',
  ...extra,
});
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

describe('endpoints for $ref come from the registry', () => {
  it('lists every registered type, including one registered after the type asking', () => {
    const { registry, users, teams } = teamRegistry('/Squads');
    const expected = { User: '/Users', Group: '/Groups', Team: '/Squads' };
    expect(registry.endpoints()).toEqual(expected);
    expect(users.endpoints).toEqual(expected);
    expect(teams.endpoints).toEqual(expected);
  });
  it('a type built outside a registry knows only its own endpoint', () => {
    const { registry, teams, input } = teamRegistry();
    const lone = new ResourceType(input, teams.schema, []);
    expect(lone.endpoints).toEqual({ Team: '/Teams' });
    expect(registry.endpoints()).toHaveProperty('User', '/Users');
  });
});

describe('fromStored / toStored with a registered external attribute', () => {
  it('keeps the values out of the document and renders them with $ref by type', () => {
    const { teams } = teamRegistry('/Squads');
    const doc = toStored(teams, team({ people: [{ value: 'u1' }] }), { version: 1 });
    expect(doc).toEqual({ _id: 't1', meta: { resourceType: 'Team', version: 1 }, displayName: 'Platform' });
    const out = fromStored(teams, doc, {
      baseUrl: BASE,
      external: {
        people: [
          { value: 'u1', display: 'Babs' },
          { value: 't2', type: 'Team' },
        ],
      },
    });
    expect(out.people).toEqual([
      { value: 'u1', $ref: `${BASE}/Users/u1`, display: 'Babs' },
      { value: 't2', $ref: `${BASE}/Squads/t2`, type: 'Team' },
    ]);
    expect(out.meta?.location).toBe(`${BASE}/Squads/t1`);
  });
  it('renders only the sub-attributes the attribute declares, and takes endpoints over the registry', () => {
    const { teams } = teamRegistry('/Teams', {
      subAttributes: [
        { name: 'value', caseExact: true },
        { name: '$ref', type: 'reference', referenceTypes: ['User'] },
      ],
    });
    const out = fromStored(
      teams,
      { _id: 't1', meta: { resourceType: 'Team' } },
      {
        baseUrl: BASE,
        endpoints: { User: '/People' },
        external: { people: [{ value: 'u1', display: 'Babs', type: 'User' }], nope: [{ value: 'x' }] },
      },
    );
    expect(out.people).toEqual([{ value: 'u1', $ref: `${BASE}/People/u1` }]);
    expect(out).not.toHaveProperty('nope');
  });
});

describe('validation and PATCH produce the delta for the writable external attribute', () => {
  it('create and replace return the values as replaceAll, typed from $ref with the registry endpoints', () => {
    const { teams } = teamRegistry('/Squads');
    const created = validateCreate(teams, {
      schemas: [TEAM],
      displayName: 'Platform',
      people: [{ value: 'u1', $ref: `${BASE}/Users/u1` }, { value: 't2', $ref: `${BASE}/Squads/t2` }, 'u3'],
    });
    expect(created.resource).not.toHaveProperty('people');
    expect(created.members).toEqual({
      add: [],
      remove: [],
      replaceAll: [{ value: 'u1', type: 'User' }, { value: 't2', type: 'Team' }, { value: 'u3' }],
    });
    expect(validateReplace(teams, { schemas: [TEAM], displayName: 'P' }, team()).members).toEqual({
      add: [],
      remove: [],
      replaceAll: [],
    });
  });
  it('add, filtered remove and replace become the `members` delta, and `changed` names the attribute', () => {
    const { teams } = teamRegistry();
    const added = applyPatch(
      teams,
      team(),
      patch({ op: 'add', path: 'people', value: [{ value: 'u1', type: 'user' }] }),
    );
    expect(added.members).toEqual({ add: [{ value: 'u1', type: 'User' }], remove: [] });
    expect(added.changed).toEqual(['people']);
    const removed = applyPatch(
      teams,
      team(),
      patch({ op: 'remove', path: 'people[value eq "u1" or people.value eq "u2"]' }),
    );
    expect(removed.members).toEqual({ add: [], remove: ['u1', 'u2'] });
    const replaced = applyPatch(
      teams,
      team(),
      patch({ op: 'replace', value: { people: [{ value: 'u9' }] } }),
    );
    expect(replaced.members).toEqual({ add: [], remove: [], replaceAll: [{ value: 'u9' }] });
  });
  it('a filter on more than value needs the current values, and evaluates over them', () => {
    const { teams } = teamRegistry();
    const body = patch({ op: 'remove', path: 'people[type eq "Team"]' });
    expect(patchNeedsMembers(teams, body)).toBe(true);
    expect(patchNeedsMembers(teams, patch({ op: 'remove', path: 'people[value eq "u1"]' }))).toBe(false);
    const result = applyPatch(teams, team(), body, {
      members: [
        { value: 'u1', type: 'User' },
        { value: 't2', type: 'Team' },
      ],
    });
    expect(result.members).toEqual({ add: [], remove: ['t2'] });
    expect(result.changed).toEqual(['people']);
  });
  it('a readOnly external attribute is refused, naming the resource it is changed through', () => {
    const { teams } = teamRegistry('/Teams', { mutability: 'readOnly' });
    expect(teams.writableExternalAttribute).toBeUndefined();
    expect(() => applyPatch(teams, team(), patch({ op: 'add', path: 'people', value: ['u1'] }))).toThrow(
      /"people" is readOnly: change memberships through the User or Team resource/,
    );
  });
});

describe('registering external attributes', () => {
  it('refuses a second writable external attribute: PATCH reports one delta', () => {
    const registry = createRegistry();
    registry.registerSchema({
      id: 'urn:x:2.0:Pair',
      name: 'Pair',
      attributes: ['left', 'right'].map((name) => ({
        name,
        type: 'complex' as const,
        multiValued: true,
        subAttributes: [{ name: 'value' }],
      })),
    });
    expect(() =>
      registry.registerResourceType({
        id: 'Pair',
        endpoint: '/Pairs',
        schema: 'urn:x:2.0:Pair',
        external: ['left', 'right'],
      }),
    ).toThrow(/at most one external attribute may be writable/);
  });
  it('refuses sub-attributes a membership reference cannot hold', () => {
    expect(() => teamRegistry('/Teams', { subAttributes: [{ name: 'value' }, { name: 'role' }] })).toThrow(
      /must be complex with "value" and at most "\$ref", "type" and "display"/,
    );
  });
});
