import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  QUERY_SHAPES_DIR_ENV,
  checkShape,
  shapeKey,
  shapeText,
  type QueryShape,
  type ShapePlan,
} from '@scimbridge/telemetry';
import { describe, expect, it } from 'vitest';
import {
  ALLOWED,
  COLLECTION_POLICIES,
  DECLARED_INDEXES,
  FERRETDB_PROFILE_INDEXES,
  SHARD_KEY,
  allowance,
  mongodbCounterparts,
  type Allowed,
} from './policy.js';

// The query-shape audit (issue 15): every shape the api, worker and controller sent during the test run, checked
// against the declared indexes and the shard key with MongoDB's index-selection rules (docs/query-shapes.md).
const dir = process.env[QUERY_SHAPES_DIR_ENV];
// scripts/test.sh sets it after a whole run: then an allow-list entry or a documented shape that nothing sent is
// reported as stale (a warning, not a failure: some paths, such as the outbox relay finishing an orphaned entry,
// run only when timing makes them, so one run not sending a shape proves nothing).
const full = process.env.SCIMBRIDGE_QUERY_AUDIT_FULL === '1';
const updateDoc = process.env.SCIMBRIDGE_QUERY_SHAPES_UPDATE_DOC === '1';
const docPath = fileURLToPath(new URL('../../docs/query-shapes.md', import.meta.url));
const BEGIN = '<!-- query-shapes:begin -->';
const END = '<!-- query-shapes:end -->';
const ALLOW_LIST = '<!-- allow-list -->';

interface Row {
  shape: QueryShape;
  text: string;
  services: string[];
  /** The store profiles of the processes that sent it (`ferretdb`, `mongodb`); empty: sent without a profile. */
  profiles: string[];
  plan: ShapePlan;
  allowed: Allowed | undefined;
  /** A FerretDB-profile shape by `_id`: the MongoDB-profile shape it stands for, recorded and passing. */
  counterpart?: string;
}

const TARGETING = /no equality on \S+: not targeted/;

function load(): Row[] {
  if (!dir) {
    throw new Error(
      `${QUERY_SHAPES_DIR_ENV} is not set: the audit checks what a test run recorded. Run scripts/test.sh, or set it for a run and then run SCIMBRIDGE_QUERY_AUDIT=1 ${QUERY_SHAPES_DIR_ENV}=<dir> pnpm exec vitest run --project query-shapes`,
    );
  }
  const byKey = new Map<string, { shape: QueryShape; services: Set<string>; profiles: Set<string> }>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const { profile, ...shape } = JSON.parse(line) as QueryShape;
      const key = shapeKey(shape);
      const entry = byKey.get(key) ?? { shape, services: new Set<string>(), profiles: new Set<string>() };
      entry.services.add(shape.service);
      if (profile) entry.profiles.add(profile);
      byKey.set(key, entry);
    }
  }
  const rows: Row[] = [...byKey.values()].map(({ shape, services, profiles }) => {
    const list = [...services].sort();
    const ferretdbOnly = [...profiles].join() === 'ferretdb';
    const plan = checkShape(
      shape,
      ferretdbOnly ? FERRETDB_PROFILE_INDEXES : DECLARED_INDEXES,
      COLLECTION_POLICIES,
    );
    return {
      shape,
      text: shapeText(shape),
      services: list,
      profiles: [...profiles].sort(),
      plan,
      allowed: allowance(shape, list, plan.problems),
    };
  });
  // What MongoDB gets (docs/query-shapes.md "Store profiles"): a FerretDB-profile lookup by `_id` alone passes only
  // through its MongoDB-profile counterpart, recorded in the same run and passing.
  const passingOnMongodb = new Map(
    rows
      .filter((r) => r.profiles.includes('mongodb') && (r.plan.ok || r.allowed))
      .map((r) => [shapeKey(r.shape), r]),
  );
  for (const row of rows) {
    if (row.plan.ok || row.allowed) continue;
    if (row.profiles.join() !== 'ferretdb' || !row.plan.problems.every((p) => TARGETING.test(p))) continue;
    const candidates = mongodbCounterparts(row.shape);
    const found = candidates.map((c) => passingOnMongodb.get(shapeKey(c))).find(Boolean);
    if (found) row.counterpart = found.text;
    else if (candidates.length > 0)
      row.plan = {
        ...row.plan,
        problems: [
          ...row.plan.problems,
          `sent under the FerretDB profile only, and no MongoDB-profile run sent its counterpart (${candidates.map((c) => shapeText(c)).join(' or ')}): send it through the profile's documentById and run the path under STORE_PROFILE=mongodb (apps/scim-api/test/store-profile.test.ts, apps/scim-worker/test/store-profile.test.ts)`,
        ],
      };
  }
  return rows.sort(
    (a, b) => a.shape.collection.localeCompare(b.shape.collection) || a.text.localeCompare(b.text),
  );
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The shape rows of a documented table, by shape text. */
function documentedRows(section: string): Map<string, string> {
  const shapesPart = section.slice(
    0,
    section.indexOf(ALLOW_LIST) >= 0 ? section.indexOf(ALLOW_LIST) : undefined,
  );
  return new Map([...shapesPart.matchAll(/^\| `([^`]+)` \|.*$/gm)].map((m) => [m[1]!, m[0]]));
}

/**
 * The table of this run's shapes. Rows documented before that this run did not send are kept: some paths (the
 * worker's retention, an outbox relay completion) run only when timing makes them, and a later run that sends
 * them again must find them documented.
 */
function table(rows: Row[], previous: Map<string, string> = new Map()): string {
  const current = new Map<string, string>(
    rows.map((r) => {
      const verdict = r.plan.ok
        ? 'ok'
        : r.allowed
          ? `${r.allowed.todo ? '**TODO(issue 15)**' : 'allowed'}: ${r.plan.problems.join('; ')}`
          : r.counterpart
            ? `FerretDB profile (\`_id\` alone); on MongoDB \`${r.counterpart}\``
            : `**fails**: ${r.plan.problems.join('; ')}`;
      return [
        cell(r.text),
        `| \`${cell(r.text)}\` | ${r.services.join(', ')}${r.profiles.length ? `; profile ${r.profiles.join(', ')}` : ''} | ${r.plan.indexes.map((i) => `\`${i}\``).join(', ') || '–'} | ${cell(r.plan.bounded || '–')} | ${cell(verdict)} |`,
      ];
    }),
  );
  for (const [text, line] of previous) if (!current.has(text)) current.set(text, line);
  const lines = [
    '| shape | sent by | index | bounded | verdict |',
    '| --- | --- | --- | --- | --- |',
    ...[...current.keys()].sort().map((text) => current.get(text)!),
  ];
  const allowList = [
    '',
    ALLOW_LIST,
    'Allow-list (`test/query-shapes/policy.ts`):',
    '',
    '| matches | reason | fix |',
    '| --- | --- | --- |',
    ...ALLOWED.map((a) => {
      const what = [
        Array.isArray(a.collection) ? a.collection.join('/') : (a.collection ?? '*'),
        Array.isArray(a.operation) ? a.operation.join('/') : (a.operation ?? '*'),
        a.filter ? JSON.stringify(a.filter) : '',
        a.sort ? `sort ${JSON.stringify(a.sort)}` : '',
        a.service ? `from ${a.service}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      return `| \`${cell(what)}\` | ${cell(a.reason)} | ${a.todo ? `TODO(issue 15): ${cell(a.todo)}` : '–'} |`;
    }),
  ];
  return [...lines, ...allowList].join('\n');
}

describe('query-shape audit', () => {
  const rows = load();

  it('has recordings', () => {
    expect(rows.length, `no shapes recorded in ${dir}`).toBeGreaterThan(0);
  });

  it('every shape is served by a declared index and targeted on the shard key, or allow-listed', () => {
    const failing = rows
      .filter((r) => !r.plan.ok && !r.allowed && !r.counterpart)
      .map((r) => `${r.text}  (from ${r.services.join(', ')})\n    ${r.plan.problems.join('\n    ')}`);
    expect(
      failing,
      `shapes not served on MongoDB (fix the query or the index, or allow-list with a reason):\n${failing.join('\n')}`,
    ).toEqual([]);
  });

  it('every allow-list entry states a reason and is still needed', () => {
    for (const a of ALLOWED) expect(a.reason.length).toBeGreaterThan(10);
    if (!full) return;
    const unused = ALLOWED.filter((a) => !a.notRecorded && !rows.some((r) => !r.plan.ok && r.allowed === a));
    if (unused.length > 0)
      console.warn(
        `allow-list entries nothing recorded in this run (remove them if no path sends them any more):\n${unused
          .map((a) => `  ${JSON.stringify([a.collection, a.operation, a.filter])}: ${a.reason}`)
          .join('\n')}`,
      );
  });

  it('docs/query-shapes.md lists every recorded shape', () => {
    const doc = readFileSync(docPath, 'utf8');
    const begin = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(begin >= 0 && end > begin, `${docPath} has no ${BEGIN} … ${END} section`).toBe(true);
    if (updateDoc) {
      const previous = documentedRows(doc.slice(begin, end));
      const generated = `${BEGIN}\n<!-- generated by test/query-shapes: SCIMBRIDGE_QUERY_SHAPES_UPDATE_DOC=1 after a whole run -->\n\n${table(rows, previous)}\n\n${END}`;
      writeFileSync(docPath, doc.slice(0, begin) + generated + doc.slice(end + END.length));
      return;
    }
    const section = doc.slice(begin, end);
    const missing = rows.filter((r) => !section.includes(`\`${cell(r.text)}\``)).map((r) => r.text);
    expect(
      missing,
      `shapes missing from docs/query-shapes.md (regenerate with SCIMBRIDGE_QUERY_SHAPES_UPDATE_DOC=1):\n${missing.join('\n')}`,
    ).toEqual([]);
    if (!full) return;
    const recorded = new Set(rows.map((r) => cell(r.text)));
    const shapesPart = section.slice(
      0,
      section.indexOf(ALLOW_LIST) >= 0 ? section.indexOf(ALLOW_LIST) : undefined,
    );
    const stale = [...shapesPart.matchAll(/^\| `([^`]+)` \|/gm)]
      .map((m) => m[1]!)
      .filter((t) => !recorded.has(t));
    if (stale.length > 0)
      console.warn(
        `documented shapes nothing sent in this run (regenerate the table if they are gone):\n  ${stale.join('\n  ')}`,
      );
  });

  it('states the shard key it checks', () => {
    expect(SHARD_KEY).toEqual({ orgId: 'hashed' });
  });
});
