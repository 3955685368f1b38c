import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// System tests need every server; each is started once for the run unless its variable is set.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis', 'kube']);
}
