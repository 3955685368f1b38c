import { defineConfig } from 'vitest/config';

// One vitest run covers every package; each project has its own vitest.config.ts
// (and, where it needs real servers, a globalSetup from @scimbridge/testing). test/faults is the fault
// suite (issue 13): it starts and kills its own servers, so it is a project of its own.
export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/*', 'test', 'test/faults'],
    reporters: ['default', './libs/testing/src/reporter.ts'],
  },
});
