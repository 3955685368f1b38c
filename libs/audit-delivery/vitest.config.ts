import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@scimbridge/source'] },
  ssr: { resolve: { conditions: ['@scimbridge/source'] } },
  test: { name: 'audit-delivery', globalSetup: ['./test/global-setup.ts'], testTimeout: 30_000 },
});
