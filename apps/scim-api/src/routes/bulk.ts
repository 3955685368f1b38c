import {
  bulkErrorResult,
  bulkResponse,
  etagFromVersion,
  invalidPath,
  invalidValue,
  isScimError,
  notFound,
  parseBulkRequest,
  resolveBulkIds,
  ScimError,
  type BulkOperation,
  type BulkOperationResult,
  type RefusalReason,
} from '@scimbridge/scim-core';
import type { FastifyInstance } from 'fastify';
import type { ScimContext } from '../http/context.js';
import { NO_PROJECTION, type ScimOutcome } from '../resources/outcome.js';
import type { AnyLifecycle } from '../resources/registry.js';
import { methodNotAllowed } from './not-allowed.js';
import { unexpectedFailure } from '../http/errors.js';
import { sendJson } from './reply.js';

/** Lifecycles by lower-cased endpoint name (`users`, `groups`, …): paths are matched case-insensitively. */
type Services = ReadonlyMap<string, AnyLifecycle>;

/**
 * `POST /Bulk` (RFC 7644 §3.7): operations in order through the same services as single requests (so the same
 * organisation scoping, validation and audit), `bulkId:` references resolved from earlier creates, and
 * `failOnErrors` honoured. Limits are those advertised; beyond them the whole request is 413.
 */
export function bulkRoute(
  app: FastifyInstance,
  list: readonly AnyLifecycle[],
  onRefusal: (reason: RefusalReason) => void,
): void {
  const services: Services = new Map(list.map((s) => [s.type.endpoint.replace(/^\//, '').toLowerCase(), s]));
  app.post('/Bulk', { config: { resource: 'Bulk', operation: 'bulk' } }, async (request, reply) => {
    const size = Number(request.headers['content-length'] ?? 0);
    const bulk = parseBulkRequest(
      request.body,
      {
        maxOperations: request.scim.limits.bulkMaxOperations,
        maxPayloadSize: request.scim.limits.maxPayloadSize,
      },
      size,
    );
    const created = new Map<string, string>();
    const results: BulkOperationResult[] = [];
    let errors = 0;
    for (const operation of bulk.Operations) {
      if (bulk.failOnErrors !== undefined && bulk.failOnErrors > 0 && errors >= bulk.failOnErrors) break;
      try {
        const { value: resolved, unresolved } = resolveBulkIds(
          { path: operation.path, data: operation.data },
          created,
        );
        if (unresolved.length)
          throw new ScimError(
            409,
            `bulkId ${unresolved.map((id) => `"${id}"`).join(', ')} does not refer to a resource created earlier in this request.`,
          );
        const outcome = await execute(request.scim, services, {
          ...operation,
          path: resolved.path,
          data: resolved.data,
        });
        if (operation.method === 'POST' && operation.bulkId && outcome.resource?.id)
          created.set(operation.bulkId, outcome.resource.id);
        results.push({
          method: operation.method,
          ...(operation.bulkId ? { bulkId: operation.bulkId } : {}),
          ...(outcome.version !== undefined ? { version: etagFromVersion(outcome.version) } : {}),
          ...(outcome.location ? { location: outcome.location } : {}),
          status: String(outcome.status),
        });
      } catch (error) {
        // Every failure is this operation's result: earlier operations are committed, so the request as a whole
        // must still answer 200 with what happened to each (RFC 7644 §3.7.3).
        if (!isScimError(error))
          request.log.error({ err: error, bulkId: operation.bulkId }, 'bulk operation failed');
        errors += 1;
        if (isScimError(error) && error.refusal) onRefusal(error.refusal);
        results.push(bulkErrorResult(operation, isScimError(error) ? error : unexpectedFailure(error)));
      }
    }
    return sendJson(reply, bulkResponse(results));
  });
  methodNotAllowed(app, '/Bulk', ['POST']);
}

async function execute(ctx: ScimContext, services: Services, operation: BulkOperation): Promise<ScimOutcome> {
  const match = /^\/([^/?#]+)(?:\/([^/?#]+))?$/.exec(operation.path);
  const service = match ? services.get(match[1]!.toLowerCase()) : undefined;
  if (!match || !service)
    throw notFound(
      `Bulk path "${operation.path}" is not ${[...services.values()].map((s) => s.type.endpoint).join(', ')} or one of their resources.`,
    );
  const name = service.type.endpoint.replace(/^\//, '');
  const id = match[2] === undefined ? undefined : decodePathId(match[2], operation.path);
  const conditions = operation.version ? { ifMatch: operation.version } : {};
  if (operation.method === 'POST') {
    if (id !== undefined) throw invalidValue('A bulk POST path names the resource type only, e.g. "/Users".');
    return service.create(ctx, operation.data, NO_PROJECTION);
  }
  if (id === undefined)
    throw invalidValue(`A bulk ${operation.method} path must name a resource, e.g. "/${name}/{id}".`);
  switch (operation.method) {
    case 'PUT':
      return service.replace(ctx, id, operation.data, NO_PROJECTION, conditions);
    case 'PATCH':
      return service.patch(ctx, id, operation.data, NO_PROJECTION, conditions);
    case 'DELETE':
      return service.delete(ctx, id, conditions);
  }
}

function decodePathId(encoded: string, path: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw invalidPath(`Bulk path "${path}" is not a valid URI path (bad percent-encoding).`);
  }
}
