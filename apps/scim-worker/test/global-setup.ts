import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// The processors are tested through a real MongoDB-wire server and a real Redis.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
