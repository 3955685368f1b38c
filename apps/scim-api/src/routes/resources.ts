import { parseSearchQuery, parseSearchRequest } from '@scimbridge/scim-core';
import type { FastifyInstance } from 'fastify';
import { searchLimits } from '../limits.js';
import type { AnyLifecycle } from '../resources/registry.js';
import { methodNotAllowed } from './not-allowed.js';
import { preconditionsOf, projectionOf, sendJson, sendOutcome } from './reply.js';

/** A resource type's endpoint (`/Users`, `/Groups`, …): list, create, `.search`, and GET/PUT/PATCH/DELETE by id. */
export function resourceRoutes(app: FastifyInstance, service: AnyLifecycle): void {
  const resource = service.type.id;
  const name = service.type.endpoint.replace(/^\//, '');
  const config = (operation: string) => ({ config: { resource, operation } });
  type ById = { Params: { id: string } };

  app.get(`/${name}`, config('list'), async (request, reply) =>
    sendJson(
      reply,
      await service.list(
        request.scim,
        parseSearchQuery(request.query as Record<string, unknown>, searchLimits(request.scim.limits)),
      ),
    ),
  );
  app.post(`/${name}`, config('create'), async (request, reply) =>
    sendOutcome(reply, await service.create(request.scim, request.body, projectionOf(request))),
  );
  app.post(`/${name}/.search`, config('search'), async (request, reply) =>
    sendJson(
      reply,
      await service.list(request.scim, parseSearchRequest(request.body, searchLimits(request.scim.limits))),
    ),
  );
  app.get<ById>(`/${name}/:id`, config('read'), async (request, reply) =>
    sendOutcome(
      reply,
      await service.get(request.scim, request.params.id, projectionOf(request), preconditionsOf(request)),
    ),
  );
  app.put<ById>(`/${name}/:id`, config('replace'), async (request, reply) =>
    sendOutcome(
      reply,
      await service.replace(
        request.scim,
        request.params.id,
        request.body,
        projectionOf(request),
        preconditionsOf(request),
      ),
    ),
  );
  app.patch<ById>(`/${name}/:id`, config('patch'), async (request, reply) =>
    sendOutcome(
      reply,
      await service.patch(
        request.scim,
        request.params.id,
        request.body,
        projectionOf(request),
        preconditionsOf(request),
      ),
    ),
  );
  app.delete<ById>(`/${name}/:id`, config('delete'), async (request, reply) =>
    sendOutcome(reply, await service.delete(request.scim, request.params.id, preconditionsOf(request))),
  );
  methodNotAllowed(app, `/${name}`, ['GET', 'POST']);
  methodNotAllowed(app, `/${name}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE']);
  methodNotAllowed(app, `/${name}/.search`, ['POST']);
}
