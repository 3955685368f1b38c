import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// Repositories are tested against the real MongoDB-wire server.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
