import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// The producer tests enqueue into a real Redis.
export default async function setup(project: TestProject) {
  return provideServers(project, ['redis']);
}
