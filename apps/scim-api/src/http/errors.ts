import {
  ScimError,
  invalidSyntax,
  isScimError,
  limitExceeded,
  toScimErrorBody,
  type RefusalReason,
} from '@scimbridge/scim-core';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export function sendScimError(reply: FastifyReply, error: ScimError): FastifyReply {
  // Kept for the request log (http/request-log.ts): status, scimType, the limit refused, the detail.
  reply.request.scimError = error;
  return reply.code(error.status).type(SCIM_CONTENT_TYPE).send(toScimErrorBody(error));
}

/** Fastify's own client errors (body parsing, limits, media types) as SCIM errors. */
function fromFastifyError(error: FastifyError): ScimError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return limitExceeded(
        'payload_too_large',
        413,
        undefined,
        `The request body exceeds the maximum payload size. ${error.message}`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ScimError(415, 'Send the request body as application/scim+json or application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidSyntax('The request body is empty; a JSON object was expected.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidSyntax('The Content-Length header does not match the body.');
    default:
      break;
  }
  if (error.statusCode === 400 && error instanceof SyntaxError)
    return invalidSyntax(`The request body is not valid JSON: ${error.message}`);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
    return new ScimError(error.statusCode, error.message);
  return undefined;
}

// The driver's (and mongoose's) names for "no server to talk to": an outage or failover, not a bug.
const MONGO_UNREACHABLE =
  /^(MongoServerSelectionError|MongooseServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoNotConnectedError|MongoTopologyClosedError|MongoPoolClearedError|PoolClearedError|MongoPoolClosedError)$/;
/** What IdPs are told to wait during a MongoDB outage; failovers take seconds. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

function isMongoUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    if (MONGO_UNREACHABLE.test(e.name)) return true;
    if (e.name === 'MongooseError' && /before initial connection|buffering timed out/.test(e.message))
      return true;
  }
  return false;
}

/**
 * The one place errors become HTTP: every 4xx/5xx is a SCIM Error body (RFC 7644 §3.12), served as
 * application/scim+json. Client mistakes are ScimErrors from the core or the api; anything else is a 500 whose
 * detail reveals nothing.
 */
/**
 * What a failure that is not the client's becomes, for a request or one Bulk operation alike: `503` while the
 * database is unreachable (retryable), else a `500` whose detail reveals nothing.
 */
export function unexpectedFailure(error: unknown): ScimError {
  if (isMongoUnreachable(error)) return new ScimError(503, 'The database is unreachable; retry shortly.');
  return new ScimError(500, 'The server could not complete the request.');
}

export function registerErrorHandling(
  app: FastifyInstance,
  onRefusal: (reason: RefusalReason) => void = () => {},
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const scim = isScimError(error) ? error : fromFastifyError(error);
    if (scim) {
      if (scim.refusal) onRefusal(scim.refusal);
      if (scim.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendScimError(reply, scim);
    }
    const failure = unexpectedFailure(error);
    if (failure.status === 503) {
      request.log.warn({ err: error.message }, 'database unreachable');
      // 503 + Retry-After: IdPs retry these; a 500 they count as a failed provisioning.
      reply.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    } else request.log.error({ err: error }, 'request failed');
    return sendScimError(reply, failure);
  });
  app.setNotFoundHandler((request, reply) =>
    sendScimError(
      reply,
      new ScimError(404, `There is no endpoint ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );
}
