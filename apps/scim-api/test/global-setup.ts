import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// Every api test goes through HTTP to real MongoDB-wire and Redis servers.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
