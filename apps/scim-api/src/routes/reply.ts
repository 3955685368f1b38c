import { etagFromVersion, parseSearchQuery } from '@scimbridge/scim-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SCIM_CONTENT_TYPE } from '../http/errors.js';
import { hasStreamedArrays, streamJson } from '../http/streamed-json.js';
import type { Preconditions, Projection, ScimOutcome } from '../resources/outcome.js';

/** Renders an outcome: `ETag` = `meta.version`, `Location` = `meta.location` on 201, no body on 204/304. */
export function sendOutcome(reply: FastifyReply, outcome: ScimOutcome): FastifyReply {
  if (outcome.version !== undefined) reply.header('ETag', etagFromVersion(outcome.version));
  if (outcome.status === 201 && outcome.location) reply.header('Location', outcome.location);
  reply.code(outcome.status);
  if (outcome.status === 204 || outcome.status === 304) return reply.send();
  return sendJson(reply, outcome.resource, outcome.status);
}

/** A SCIM body; one holding streamed arrays (a large group's members) is written as it is read. */
export function sendJson(reply: FastifyReply, body: unknown, status = 200): FastifyReply {
  reply.code(status).type(SCIM_CONTENT_TYPE);
  return reply.send(hasStreamedArrays(body) ? streamJson(body) : body);
}

export function projectionOf(request: FastifyRequest): Projection {
  const { attributes, excludedAttributes } = parseSearchQuery(
    {
      attributes: (request.query as Record<string, unknown>).attributes,
      excludedAttributes: (request.query as Record<string, unknown>).excludedAttributes,
    },
    request.scim.limits.pagination,
  );
  return { attributes, excludedAttributes };
}

export function preconditionsOf(request: FastifyRequest): Preconditions {
  const { 'if-match': ifMatch, 'if-none-match': ifNoneMatch } = request.headers;
  return {
    ...(typeof ifMatch === 'string' ? { ifMatch } : {}),
    ...(typeof ifNoneMatch === 'string' ? { ifNoneMatch } : {}),
  };
}
