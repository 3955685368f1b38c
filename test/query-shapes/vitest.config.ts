import { defineProject } from 'vitest/config';

// The query-shape audit (issue 15, docs/query-shapes.md). It reads the shapes the whole test run recorded into
// SCIMBRIDGE_QUERY_SHAPES_DIR, so it runs after the main suite as its own `vitest run` (scripts/test.sh); the root
// configuration includes it only with SCIMBRIDGE_QUERY_AUDIT=1. Its file is *.audit.ts so that the `system` project
// (test/) does not run it during the suite it audits. It starts no server.
export default defineProject({
  resolve: { conditions: ['@scimbridge/source'] },
  ssr: { resolve: { conditions: ['@scimbridge/source'] } },
  test: {
    name: 'query-shapes',
    include: ['**/*.audit.ts'],
  },
});
