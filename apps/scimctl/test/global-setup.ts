import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// scimctl talks to the real MongoDB-wire server and Redis, as an operator would.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
