import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// The tracing test runs a miniature api and worker against real MongoDB (FerretDB) and Redis.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
