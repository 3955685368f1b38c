import { defineConfig } from 'vitest/config';

// One vitest run covers every package; each project has its own vitest.config.ts
// (and, where it needs real servers, a globalSetup from @scimbridge/testing). test/faults is the fault
// suite: it starts and kills its own servers, so it is a project of its own, in a later group
// (`sequence.groupOrder`) that runs once every other project has finished, on an otherwise idle machine: its
// checks include sub-second revocation and readiness bounds (docs/testing.md "Fault suite").
export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/*', 'test', 'test/faults'],
    reporters: ['default', './libs/testing/src/reporter.ts'],
  },
});
