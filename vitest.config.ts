import { defineConfig } from 'vitest/config';

// One vitest run covers every package; each project has its own vitest.config.ts
// (and, where it needs real servers, a globalSetup from @scimbridge/testing). test/faults is the fault
// suite: it starts and kills its own servers, and its checks include sub-second revocation and readiness bounds,
// so it runs alone: `make test` (scripts/test.sh) runs it first, on its own, with SCIMBRIDGE_FAULTS=1, then this
// configuration without it; `make faults` runs it alone.
const faults = process.env.SCIMBRIDGE_FAULTS === '1' ? ['test/faults'] : [];
// test/query-shapes is the query-shape audit (docs/query-shapes.md): it checks the shapes the rest of the run
// recorded into SCIMBRIDGE_QUERY_SHAPES_DIR, so scripts/test.sh runs it last, on its own, with SCIMBRIDGE_QUERY_AUDIT=1.
const audit = process.env.SCIMBRIDGE_QUERY_AUDIT === '1' ? ['test/query-shapes'] : [];

export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/*', 'test', ...faults, ...audit],
    reporters: ['default', './libs/testing/src/reporter.ts'],
  },
});
