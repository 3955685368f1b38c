import { invalidSyntax } from '@scimbridge/scim-core';
import type { FastifyInstance } from 'fastify';

/** Deeper JSON than any SCIM resource needs is refused before the core walks it recursively. */
const MAX_JSON_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function depthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i += 1;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 125 || c === 93) depth -= 1;
  }
  return false;
}

/**
 * SCIM bodies arrive as application/scim+json (RFC 7644 §8.1) or application/json (Okta's and Microsoft's
 * tests), any charset parameter allowed. Both go through Fastify's default JSON parser, which rejects
 * `__proto__` and `constructor.prototype` keys; invalid UTF-8 and absurd nesting are 400 invalidSyntax.
 */
export function registerScimContentTypes(app: FastifyInstance, bodyLimit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/scim+json'],
    { parseAs: 'buffer', bodyLimit },
    (request, body: Buffer, done) => {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        done(invalidSyntax('The request body is not valid UTF-8.'), undefined);
        return;
      }
      if (depthExceeds(text, MAX_JSON_DEPTH)) {
        done(invalidSyntax(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
        return;
      }
      void parseJson(request, text, (error, value) => {
        if (error) done(invalidSyntax(`The request body is not valid JSON: ${error.message}`), undefined);
        else done(null, value);
      });
    },
  );
}
