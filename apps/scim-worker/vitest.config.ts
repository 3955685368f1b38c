import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@scimbridge/source'] },
  ssr: { resolve: { conditions: ['@scimbridge/source'] } },
  test: {
    name: 'scim-worker',
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
