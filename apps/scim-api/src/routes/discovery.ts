import {
  renderResourceTypeById,
  renderResourceTypes,
  renderSchemaById,
  renderSchemas,
  renderServiceProviderConfig,
  type SchemaRegistry,
} from '@scimbridge/scim-core';
import type { FastifyInstance } from 'fastify';
import { authenticationSchemes } from '../authentication-schemes.js';
import { capabilities } from '../limits.js';
import { sendJson } from './reply.js';
import { methodNotAllowed } from './not-allowed.js';

/** RFC 7644 §4 discovery, generated from the core's registry and the limits the api really enforces. GET only. */
export function discoveryRoutes(
  app: FastifyInstance,
  registry: SchemaRegistry,
  documentationUrl?: string,
): void {
  const config = { resource: 'Discovery', operation: 'read' };
  // Per organisation: its limits and the authentication schemes it has turned on.
  app.get('/ServiceProviderConfig', { config }, async (request, reply) => {
    const { limits, baseUrl, organisation } = request.scim;
    const schemes = authenticationSchemes({
      authentication: organisation.settings.authentication,
      baseUrl,
      documentationUrl,
    });
    return sendJson(reply, renderServiceProviderConfig(capabilities(limits, schemes), baseUrl));
  });
  app.get('/ResourceTypes', { config }, async (request, reply) =>
    sendJson(reply, renderResourceTypes(registry, request.scim.baseUrl)),
  );
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', { config }, async (request, reply) =>
    sendJson(reply, renderResourceTypeById(registry, request.params.id, request.scim.baseUrl)),
  );
  app.get('/Schemas', { config }, async (request, reply) =>
    sendJson(reply, renderSchemas(registry, request.scim.baseUrl)),
  );
  app.get<{ Params: { id: string } }>('/Schemas/:id', { config }, async (request, reply) =>
    sendJson(reply, renderSchemaById(registry, request.params.id, request.scim.baseUrl)),
  );
  for (const url of [
    '/ServiceProviderConfig',
    '/ResourceTypes',
    '/ResourceTypes/:id',
    '/Schemas',
    '/Schemas/:id',
  ])
    methodNotAllowed(app, url, ['GET']);
}
