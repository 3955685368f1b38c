import { ScimError } from '@scimbridge/scim-core';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { sendScimError } from '../http/errors.js';

const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** 405 with `Allow` for the methods a SCIM endpoint does not support (scim2-tester checks discovery). */
export function methodNotAllowed(app: FastifyInstance, url: string, allowed: HTTPMethods[]): void {
  const others = METHODS.filter((m) => !allowed.includes(m));
  if (others.length === 0) return;
  app.route({
    method: others,
    url,
    config: { resource: 'Other', operation: 'not-allowed' },
    handler: async (request, reply) => {
      reply.header('Allow', allowed.join(', '));
      return sendScimError(
        reply,
        new ScimError(405, `${request.method} is not supported on ${url}; use ${allowed.join(', ')}.`),
      );
    },
  });
}
