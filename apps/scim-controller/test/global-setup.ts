import { provideServers } from '@scimbridge/testing';
import type { TestProject } from 'vitest/node';

// One FerretDB, Redis and kube-apiserver for the project; each test uses its own namespace and database.
export default async function setup(project: TestProject) {
  return provideServers(project, ['mongodb', 'redis', 'kube']);
}
