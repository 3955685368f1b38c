import { EventSigningKeys, eventSigningKeyCollection } from '@scimbridge/tenancy';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';

/** Where receivers of RFC 9967 SCIM events find the keys that sign them (docs/contracts.md "SCIM events"). */
export const SCIM_EVENTS_JWKS_PATH = '/.well-known/scim-events/jwks.json';

/** How long receivers and proxies may cache the key set; a rotated-in key is published longer before it signs. */
const MAX_AGE_SECONDS = 60;

/**
 * The public event signing keys as a JWKS (RFC 7517), unauthenticated: public keys only. Served from memory; the
 * key set document is read at most once per `cacheMs` (a flood of requests costs no database work beyond that).
 * The first request creates the key set when the worker has not yet done so, so the set is never empty.
 */
export function jwksRoute(app: FastifyInstance, connection: Connection, cacheMs = 30_000): void {
  const keys = new EventSigningKeys(eventSigningKeyCollection(connection), cacheMs);
  app.get(
    SCIM_EVENTS_JWKS_PATH,
    { config: { resource: 'jwks', operation: 'get' } },
    async (_request, reply) => {
      const jwks = await keys.jwks();
      return reply
        .header('content-type', 'application/jwk-set+json')
        .header('cache-control', `public, max-age=${MAX_AGE_SECONDS}`)
        .send(JSON.stringify(jwks));
    },
  );
}
