import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// Dead letters are listed from a real MongoDB-wire server and re-driven onto a real Redis queue.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
