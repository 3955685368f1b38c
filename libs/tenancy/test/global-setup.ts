import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// Organisations and tokens live in MongoDB; revocations travel over Redis pub/sub.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis']);
}
