import { defineConfig } from 'vitest/config';

// One vitest run covers every package; each project has its own vitest.config.ts
// (and, where it needs real servers, a globalSetup from @scimbridge/testing). test/faults is the fault
// suite (issue 13): it starts and kills its own servers, so it is a project of its own, run by `make faults`
// (SCIMBRIDGE_FAULTS=1). It is not part of `make test` yet: its "nothing lost" checks need the outbox of the
// "one resource lifecycle" issue and do not hold reliably until then (docs/testing.md).
const faults = process.env.SCIMBRIDGE_FAULTS === '1' ? ['test/faults'] : [];

export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/*', 'test', ...faults],
    reporters: ['default', './libs/testing/src/reporter.ts'],
  },
});
