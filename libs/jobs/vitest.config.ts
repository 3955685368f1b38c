import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@scimbridge/source'] },
  ssr: { resolve: { conditions: ['@scimbridge/source'] } },
  test: { name: 'jobs', globalSetup: ['./test/global-setup.ts'] },
});
