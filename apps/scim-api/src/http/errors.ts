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

/**
 * The one place errors become HTTP: every 4xx/5xx is a SCIM Error body (RFC 7644 §3.12), served as
 * application/scim+json. Client mistakes are ScimErrors from the core or the api; anything else is a 500 whose
 * detail reveals nothing.
 */
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
    request.log.error({ err: error }, 'request failed');
    return sendScimError(reply, new ScimError(500, 'The server could not complete the request.'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendScimError(
      reply,
      new ScimError(404, `There is no endpoint ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );
}
