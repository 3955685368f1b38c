// fast-check generators shared by the in-memory equivalence property test and the FerretDB integration test.
// They produce plain SCIM JSON and filter text only (no imports from the library), so both suites can use them.
import fc from 'fast-check';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Characters chosen to exercise case folding, regex metacharacters and JSON escaping. */
const CHARS = [
  'a',
  'b',
  'A',
  'B',
  'é',
  'É',
  'ß',
  '.',
  '*',
  '$',
  '(',
  '[',
  '\\',
  ' ',
  '"',
  '@',
  '+',
  '?',
  '^',
  '|',
  '\n',
];

export const text = (maxLength = 4): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength }).map((cs) => cs.join(''));

const instant = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2020, 0, 4) })
  .map((ms) => new Date(Math.floor(ms / 3_600_000) * 3_600_000));

const email = fc.record(
  { value: text(5), type: fc.constantFrom('work', 'home', 'Work', 'other'), primary: fc.boolean() },
  { requiredKeys: ['value'] },
);

/** A User create body plus the server-side stamp (created / lastModified). */
export interface GeneratedUser {
  body: Record<string, unknown>;
  created: Date;
  lastModified: Date;
}

export const userArbitrary: fc.Arbitrary<GeneratedUser> = fc
  .record(
    {
      userName: text(4),
      displayName: text(3),
      nickName: text(3),
      title: text(3),
      externalId: text(3),
      active: fc.boolean(),
      name: fc.record({ givenName: text(3), familyName: text(3) }, { requiredKeys: [] }),
      emails: fc.array(email, { maxLength: 3 }),
      phoneNumbers: fc.array(fc.record({ value: text(3), type: fc.constantFrom('work', 'mobile') }), {
        maxLength: 2,
      }),
      enterprise: fc.record(
        { employeeNumber: text(3), department: text(3), manager: fc.record({ value: text(3) }) },
        { requiredKeys: [] },
      ),
      created: instant,
      lastModified: instant,
    },
    { requiredKeys: ['userName', 'created', 'lastModified'] },
  )
  .map((r) => {
    const body: Record<string, unknown> = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: r.userName,
    };
    for (const key of [
      'displayName',
      'nickName',
      'title',
      'externalId',
      'active',
      'name',
      'phoneNumbers',
    ] as const) {
      if (r[key] !== undefined) body[key] = r[key];
    }
    if (r.emails && r.emails.length > 0) {
      // At most one primary (RFC 7643 §2.4): keep the first one flagged.
      let seen = false;
      body.emails = r.emails.map((e) => {
        if (e.primary && !seen) {
          seen = true;
          return e;
        }
        const { primary: _primary, ...rest } = e;
        return rest;
      });
    }
    if (r.enterprise && Object.keys(r.enterprise).length > 0) {
      body[ENTERPRISE] = r.enterprise;
      (body.schemas as string[]).push(ENTERPRISE);
    }
    return { body, created: r.created, lastModified: r.lastModified };
  });

const quoted = (value: string | number | boolean | null): string => JSON.stringify(value);

type Kind = 'keyed' | 'fold' | 'exact' | 'boolean' | 'date';
const STRING_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const FOLD_OPS = ['eq', 'ne', 'co', 'sw', 'ew'];

const TOP: [string, Kind][] = [
  ['userName', 'keyed'],
  ['USERNAME', 'keyed'],
  ['displayName', 'keyed'],
  ['nickName', 'fold'],
  ['title', 'fold'],
  ['externalId', 'exact'],
  ['id', 'exact'],
  ['active', 'boolean'],
  ['name.givenName', 'fold'],
  ['name.familyName', 'fold'],
  ['emails', 'keyed'],
  ['emails.value', 'keyed'],
  ['emails.type', 'fold'],
  ['emails.primary', 'boolean'],
  ['phoneNumbers.value', 'fold'],
  [`${ENTERPRISE}:employeeNumber`, 'fold'],
  [`${ENTERPRISE}:manager.value`, 'exact'],
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName', 'keyed'],
  ['meta.lastModified', 'date'],
  ['meta.created', 'date'],
];
const EMAIL_SUB: [string, Kind][] = [
  ['value', 'keyed'],
  ['type', 'fold'],
  ['primary', 'boolean'],
];

function comparison(attributes: [string, Kind][]): fc.Arbitrary<string> {
  return fc.constantFrom(...attributes).chain(([attribute, kind]) => {
    switch (kind) {
      case 'boolean':
        return fc
          .tuple(fc.constantFrom('eq', 'ne'), fc.constantFrom(true, false, 'True', 'false'))
          .map(([op, v]) => `${attribute} ${op} ${quoted(v)}`);
      case 'date':
        return fc
          .tuple(fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le'), instant)
          .map(([op, d]) => `${attribute} ${op} ${quoted(d.toISOString())}`);
      default:
        return fc
          .tuple(
            fc.constantFrom(...(kind === 'fold' ? FOLD_OPS : STRING_OPS)),
            fc.oneof(text(3), fc.constant(null)),
          )
          .map(([op, v]) =>
            v === null ? `${attribute} ${op === 'ne' ? 'ne' : 'eq'} null` : `${attribute} ${op} ${quoted(v)}`,
          );
    }
  });
}

const present = (attributes: [string, Kind][]): fc.Arbitrary<string> =>
  fc.constantFrom(...attributes).map(([a]) => `${a} pr`);

function logical(leaf: fc.Arbitrary<string>, depth: number): fc.Arbitrary<string> {
  if (depth <= 0) return leaf;
  const sub = logical(leaf, depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc
        .tuple(sub, fc.constantFrom('and', 'or', 'AND', 'Or'), sub)
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    },
    { weight: 1, arbitrary: sub.map((a) => `not (${a})`) },
  );
}

const emailFilter = logical(fc.oneof(comparison(EMAIL_SUB), present(EMAIL_SUB)), 1);

/** Random User filters over stored and computed attributes: comparisons, pr, and/or/not, value paths, `schemas`. */
export const userFilterArbitrary: fc.Arbitrary<string> = logical(
  fc.oneof(
    { weight: 6, arbitrary: comparison(TOP) },
    { weight: 2, arbitrary: present(TOP) },
    { weight: 2, arbitrary: emailFilter.map((f) => `emails[${f}]`) },
    {
      weight: 1,
      arbitrary: fc.tuple(emailFilter, text(3)).map(([f, v]) => `emails[${f}].value eq ${quoted(v)}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `schemas eq "${ENTERPRISE}"`,
        'schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"',
        'meta.resourceType eq "User"',
        `schemas co "enterprise"`,
      ),
    },
  ),
  2,
);

// Value filters on multi-valued complex attributes, with values drawn from small pools so that conditions on the
// same element and on different elements of one array both happen often (the case `$elemMatch` decides).
const ADDRESS_LOCALITIES = ['Paris', 'paris', 'Oslo', 'a.b'];
const EMAIL_VALUES = ['a@x', 'A@X', 'b@x.example', 'c@y', 'x@a', '@x'];
const TYPES = ['work', 'Work', 'home', 'other'];

/** Users whose emails, addresses and roles share few values, so value filters discriminate. */
export const multiValuedUserArbitrary: fc.Arbitrary<GeneratedUser> = fc
  .record({
    userName: text(3),
    emails: fc.array(
      fc.record(
        { value: fc.constantFrom(...EMAIL_VALUES), type: fc.constantFrom(...TYPES), primary: fc.boolean() },
        { requiredKeys: ['value'] },
      ),
      { maxLength: 3 },
    ),
    addresses: fc.array(
      fc.record(
        { locality: fc.constantFrom(...ADDRESS_LOCALITIES), type: fc.constantFrom(...TYPES) },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    roles: fc.array(fc.record({ value: fc.constantFrom('admin', 'Admin', 'user'), primary: fc.boolean() }), {
      maxLength: 2,
    }),
    created: instant,
  })
  .map((r) => {
    const body: Record<string, unknown> = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: r.userName,
    };
    let primary = false;
    if (r.emails.length > 0)
      body.emails = r.emails.map((e) => {
        if (!e.primary || primary) {
          const { primary: _primary, ...rest } = e;
          return rest;
        }
        primary = true;
        return e;
      });
    if (r.addresses.length > 0) body.addresses = r.addresses.filter((a) => Object.keys(a).length > 0);
    if (r.roles.length > 0) {
      let primaryRole = false;
      body.roles = r.roles.map((role) => {
        const keep = role.primary && !primaryRole;
        primaryRole ||= keep;
        return { value: role.value, ...(keep ? { primary: true } : {}) };
      });
    }
    return { body, created: r.created, lastModified: r.created };
  });

/** Attribute and sub-attribute names in random case: SCIM names are case-insensitive (RFC 7643 §2.1). */
const anyCase = (name: string): fc.Arbitrary<string> =>
  fc.constantFrom(name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1));

const subComparison = (subs: [string, string[], string[]][]): fc.Arbitrary<string> =>
  fc
    .constantFrom(...subs)
    .chain(([sub, ops, values]) =>
      fc.tuple(anyCase(sub), fc.constantFrom(...ops), fc.constantFrom(...values)),
    )
    .map(([sub, op, value]) => (op === 'pr' ? `${sub} pr` : `${sub} ${op} ${quoted(value)}`));

const SUBS: Record<string, [string, string[], string[]][]> = {
  emails: [
    ['value', ['eq', 'ne', 'co', 'sw', 'ew', 'pr'], [...EMAIL_VALUES, '@X', 'x', 'A']],
    ['type', ['eq', 'ne', 'pr'], ['work', 'WORK', 'home']],
    ['primary', ['eq', 'ne', 'pr'], ['true', 'false']],
  ],
  addresses: [
    ['locality', ['eq', 'ne', 'co', 'sw', 'pr'], [...ADDRESS_LOCALITIES, 'P', '.']],
    ['type', ['eq', 'ne', 'pr'], ['work', 'home']],
  ],
  roles: [
    ['value', ['eq', 'ne', 'sw', 'pr'], ['admin', 'ADMIN', 'us']],
    ['primary', ['eq', 'pr'], ['true', 'false']],
  ],
};

const inner = (attribute: string): fc.Arbitrary<string> =>
  logical(subComparison(SUBS[attribute]!), 2).map((f) =>
    // `primary eq "true"` is a string here; SCIM compares booleans, so write the literal unquoted.
    f.replace(/primary (eq|ne) "(true|false)"/gi, 'primary $1 $2'),
  );

/**
 * Filters dominated by value paths on emails, addresses and roles (`emails[type eq "work" and value co "@x"]`),
 * negated, combined, or followed by a sub-attribute, with attribute names in random case.
 */
export const valueFilterArbitrary: fc.Arbitrary<string> = logical(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom('emails', 'addresses', 'roles')
        .chain((attribute) => fc.tuple(anyCase(attribute), inner(attribute)))
        .map(([attribute, f]) => `${attribute}[${f}]`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(inner('emails'), fc.constantFrom(...EMAIL_VALUES))
        .map(([f, v]) => `emails[${f}].value eq ${quoted(v)}`),
    },
    { weight: 1, arbitrary: subComparison(SUBS.emails!).map((f) => `emails.${f}`) },
    { weight: 1, arbitrary: fc.constantFrom('emails pr', 'addresses pr', 'roles pr', 'userName pr') },
  ),
  2,
);
