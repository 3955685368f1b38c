import type { ScimError } from '@scimbridge/scim-core';
import type { RequestBodySummary, RequestLogWriter } from '@scimbridge/tenancy';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Who a request is attributed to in the organisation's request log (docs/api.md "Request log"): set by the auth
 * hook once the credential named an organisation (accepted or refused), never for an unknown token.
 */
export interface RequestAttribution {
  orgId: string;
  fingerprint: string;
  /** Why the auth hook refused it (`token-regenerated`, `scim-disabled`, `paused`, `rate-limited`, …). */
  reason?: string;
  traceId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    requestLog?: RequestAttribution;
    /** The SCIM error sent (sendScimError), for the log's status, scimType and detail. */
    scimError?: ScimError;
  }
}

/** Bounds of one record: names listed, text lengths. */
const MAX_NAMES = 50;
const MAX_OPERATIONS = 20;
const MAX_TEXT = 200;
const MAX_DETAIL = 300;

const clip = (text: string, max = MAX_TEXT) => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * A PATCH path without the values its filter compares with (`emails[value eq "…"].value`): a path filter may
 * name any attribute, a sensitive one included, so no literal is kept.
 */
export function redactPath(path: string): string {
  return clip(
    path.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\b(eq|ne|co|sw|ew|gt|ge|lt|le)\s+[^\s\]"]+/gi, '$1 …'),
  );
}

/** The attribute a PATCH path writes, without its filter: `emails[type eq "work"].value` → `emails.value`. */
function pathAttribute(path: string): string {
  return clip(path.replace(/\[[^\]]*\]/g, ''));
}

/** Attribute names of a body object: top-level and one level of sub-attributes (`name.givenName`), no values. */
function attributeNames(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const names: string[] = [];
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'schemas') continue;
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const subs = Object.keys(inner);
      if (subs.length === 0) names.push(clip(key));
      for (const sub of subs) names.push(clip(`${key}.${sub}`));
    } else names.push(clip(key));
  }
  return names;
}

function bounded(names: string[]): { names: string[]; truncated: number } {
  const unique = [...new Set(names)];
  return { names: unique.slice(0, MAX_NAMES), truncated: Math.max(0, unique.length - MAX_NAMES) };
}

/**
 * The redacted summary of a request body and the attribute names it writes: names and operation shapes only,
 * never a value, so neither a password nor any other attribute value (nor a credential) can reach the log.
 */
export function summariseBody(
  operation: string | undefined,
  body: unknown,
): { changedAttributes: string[]; body: RequestBodySummary | null } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { changedAttributes: [], body: null };
  const ops = (body as { Operations?: unknown }).Operations;
  if (Array.isArray(ops)) {
    const bulk = operation === 'bulk';
    const changed: string[] = [];
    const operations = ops.slice(0, MAX_OPERATIONS).map((raw) => {
      const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const op =
        typeof (bulk ? o.method : o.op) === 'string' ? clip(String(bulk ? o.method : o.op), 20) : '?';
      const path = typeof o.path === 'string' ? (bulk ? clip(o.path) : redactPath(o.path)) : null;
      const attributes = attributeNames(bulk ? o.data : o.value);
      if (!bulk) changed.push(...(path ? [pathAttribute(o.path as string)] : attributes));
      return { op, path, ...(attributes.length > 0 ? { attributes: attributes.slice(0, MAX_NAMES) } : {}) };
    });
    const { names } = bounded(changed);
    return {
      changedAttributes: names,
      body: {
        operations,
        ...(ops.length > MAX_OPERATIONS ? { truncated: ops.length - MAX_OPERATIONS } : {}),
      },
    };
  }
  const { names, truncated } = bounded(attributeNames(body));
  const writes = operation === 'create' || operation === 'replace';
  return {
    changedAttributes: writes ? names : [],
    body: { attributes: names, ...(truncated > 0 ? { truncated } : {}) },
  };
}

/** The reason of a refusal the auth hook did not name: the cost limit, the scimType, or the status. */
function reasonOf(request: FastifyRequest, status: number): string | null {
  if (request.requestLog?.reason) return request.requestLog.reason;
  if (status < 400) return null;
  const error = request.scimError;
  return error?.refusal ?? error?.scimType ?? `http-${status}`;
}

/**
 * The onResponse hook that records every attributed request: off the request path (the writer buffers), and
 * never throwing into Fastify.
 */
export function requestLogHook(writer: RequestLogWriter) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const who = request.requestLog;
    if (!who) return;
    try {
      const { operation } = request.routeOptions.config;
      const summary = summariseBody(operation, request.body);
      const status = reply.statusCode;
      const error = status >= 400 ? request.scimError : undefined;
      const agent = request.headers['user-agent'];
      const params = request.params as { id?: unknown } | undefined;
      writer.record({
        orgId: who.orgId,
        at: new Date(),
        method: request.method,
        route: request.routeOptions.url ?? '(no route)',
        resourceId: typeof params?.id === 'string' ? clip(params.id, 100) : null,
        status,
        scimType: error?.scimType ?? null,
        reason: reasonOf(request, status),
        detail: error ? clip(error.detail, MAX_DETAIL) : null,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        fingerprint: who.fingerprint,
        userAgent: typeof agent === 'string' ? clip(agent) : null,
        requestId: request.id,
        traceId: who.traceId,
        changedAttributes: summary.changedAttributes,
        body: summary.body,
      });
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'request log record failed');
    }
  };
}
