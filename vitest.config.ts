import { defineConfig } from 'vitest/config';

// One vitest run covers every package; each project has its own vitest.config.ts
// (and, where it needs real servers, a globalSetup from @scimbridge/testing).
export default defineConfig({
  test: {
    projects: ['libs/*', 'apps/*', 'test'],
    reporters: ['default', './libs/testing/src/reporter.ts'],
  },
});
