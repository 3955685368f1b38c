import { defineProject } from 'vitest/config';

// The fault suite (issue 13). It starts its own FerretDB, Redis, two api and two worker processes (from
// apps/*/dist, so build first) because it stops and kills them; it needs no globalSetup and shares no
// server with other projects. Its files are *.faults.ts so that the `system` project (test/), whose
// default include would match *.test.ts here, does not run them a second time.
export default defineProject({
  resolve: { conditions: ['@scimbridge/source'] },
  ssr: { resolve: { conditions: ['@scimbridge/source'] } },
  test: {
    name: 'faults',
    include: ['**/*.faults.ts'],
    // Scenarios run in order against one stack, under one steady load.
    sequence: { concurrent: false },
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
