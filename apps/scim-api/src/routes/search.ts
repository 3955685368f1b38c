import { isScimError, listResponse, parseSearchRequest, type ScimResource } from '@scimbridge/scim-core';
import type { FastifyInstance } from 'fastify';
import { searchLimits } from '../limits.js';
import type { AnyLifecycle } from '../resources/registry.js';
import { methodNotAllowed } from './not-allowed.js';
import { sendJson } from './reply.js';

/**
 * `POST /.search` over every resource type (RFC 7644 §3.4.3), in registration order (Users, Groups, …), paged
 * as one list. A filter naming an attribute one type lacks matches nothing there; invalid for all, it is a 400.
 */
export function rootSearchRoute(app: FastifyInstance, services: readonly AnyLifecycle[]): void {
  app.post('/.search', { config: { resource: 'All', operation: 'search' } }, async (request, reply) => {
    const { limits } = request.scim;
    const params = parseSearchRequest(request.body, searchLimits(limits));
    if (params.cursor !== undefined) delete params.cursor;
    const ctx = request.scim;
    const window = {
      ...params,
      startIndex: 1,
      count: Math.min(limits.pagination.maxResults, params.startIndex - 1 + params.count),
    };
    const results = await Promise.all(services.map((service) => searchOne(() => service.list(ctx, window))));
    const failures = results.filter((r) => r.error);
    if (failures.length === results.length) throw failures[0]!.error;
    const all: ScimResource[] = results.flatMap((r) => r.resources);
    const total = results.reduce((sum, r) => sum + r.total, 0);
    const page = all.slice(params.startIndex - 1, params.startIndex - 1 + params.count);
    return sendJson(reply, listResponse(page, { totalResults: total, startIndex: params.startIndex }));
  });
  methodNotAllowed(app, '/.search', ['POST']);
}

async function searchOne(run: () => Promise<{ totalResults?: number; Resources: ScimResource[] }>): Promise<{
  resources: ScimResource[];
  total: number;
  error?: unknown;
}> {
  try {
    const list = await run();
    return { resources: list.Resources, total: list.totalResults ?? list.Resources.length };
  } catch (error) {
    if (isScimError(error) && error.status === 400) return { resources: [], total: 0, error };
    throw error;
  }
}
