import type { ResourceType } from '../schema/registry.js';
import type { ScimMeta } from '../resource/types.js';
import { etagFromVersion } from './etag.js';

/** Absolute URI of a resource (RFC 7643 §3.1 `meta.location`; also the `Location` header of a 201, RFC 7644 §3.3). */
export function resourceLocation(baseUrl: string, type: ResourceType, id: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${type.endpoint}/${encodeURIComponent(id)}`;
}

export interface MetaInput {
  id: string;
  created: Date;
  lastModified: Date;
  version: number;
}

/** Builds the wire `meta` (RFC 7643 §3.1) from server-maintained values. */
export function buildMeta(type: ResourceType, input: MetaInput, baseUrl: string): ScimMeta {
  return {
    resourceType: type.name,
    created: input.created.toISOString(),
    lastModified: input.lastModified.toISOString(),
    location: resourceLocation(baseUrl, type, input.id),
    version: etagFromVersion(input.version),
  };
}
