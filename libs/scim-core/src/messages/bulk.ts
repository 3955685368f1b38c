import {
  invalidSyntax,
  invalidValue,
  payloadTooLarge,
  toScimErrorBody,
  type ScimError,
  type ScimErrorBody,
} from '../errors.js';
import { isPlainObject } from '../resource/normalise.js';
import { URN } from '../urns.js';

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface BulkOperation {
  method: BulkMethod;
  /** `/Users`, `/Groups/{id}`; may contain `bulkId:<id>` references resolved with {@link resolveBulkIds}. */
  path: string;
  bulkId?: string;
  /** An ETag to check like If-Match (RFC 7644 §3.7). */
  version?: string;
  data?: unknown;
}

export interface BulkRequest {
  failOnErrors?: number;
  Operations: BulkOperation[];
}

export interface BulkLimits {
  maxOperations: number;
  maxPayloadSize: number;
}

/**
 * Validates a BulkRequest (RFC 7644 §3.7): the BulkRequest URN, `Operations` with a method, a path that starts
 * with `/`, a `bulkId` on every POST, `data` for POST/PUT/PATCH, and unique bulkIds. `payloadSize` is the
 * request body's size in bytes, as the api received it.
 *
 * @throws ScimError 413 when the operation count or payload exceeds the advertised limits (RFC 7644 §3.7.4);
 *   400 invalidSyntax / invalidValue naming the operation otherwise.
 */
export function parseBulkRequest(body: unknown, limits: BulkLimits, payloadSize?: number): BulkRequest {
  if (payloadSize !== undefined && payloadSize > limits.maxPayloadSize) {
    throw payloadTooLarge(
      `The size of the bulk operation (${payloadSize} bytes) exceeds the maxPayloadSize (${limits.maxPayloadSize}).`,
    );
  }
  if (!isPlainObject(body)) throw invalidSyntax('A bulk request body must be a JSON object.');
  const schemas = body.schemas;
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.BulkRequest.toLowerCase())
  ) {
    throw invalidSyntax(`A bulk request must have "schemas": ["${URN.BulkRequest}"].`);
  }
  const operations = body.Operations;
  if (!Array.isArray(operations)) throw invalidSyntax('A bulk request must have an "Operations" array.');
  if (operations.length > limits.maxOperations) {
    throw payloadTooLarge(
      `The bulk request has ${operations.length} operations; maxOperations is ${limits.maxOperations}.`,
    );
  }
  const request: BulkRequest = { Operations: [] };
  if (body.failOnErrors !== undefined) {
    if (
      typeof body.failOnErrors !== 'number' ||
      !Number.isInteger(body.failOnErrors) ||
      body.failOnErrors < 1
    ) {
      throw invalidValue('"failOnErrors" must be a positive integer.');
    }
    request.failOnErrors = body.failOnErrors;
  }
  const bulkIds = new Set<string>();
  operations.forEach((raw: unknown, index) => {
    if (!isPlainObject(raw)) throw invalidSyntax(`Operations[${index}] must be an object.`);
    const method = typeof raw.method === 'string' ? raw.method.toUpperCase() : undefined;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH' && method !== 'DELETE') {
      throw invalidValue(`Operations[${index}]: "method" must be POST, PUT, PATCH or DELETE.`);
    }
    if (typeof raw.path !== 'string' || !raw.path.startsWith('/'))
      throw invalidValue(`Operations[${index}]: "path" must start with "/", e.g. "/Users".`);
    const operation: BulkOperation = { method, path: raw.path };
    if (raw.bulkId !== undefined) {
      if (typeof raw.bulkId !== 'string' || raw.bulkId === '')
        throw invalidValue(`Operations[${index}]: "bulkId" must be a non-empty string.`);
      if (bulkIds.has(raw.bulkId))
        throw invalidValue(`Operations[${index}]: bulkId "${raw.bulkId}" is used twice.`);
      bulkIds.add(raw.bulkId);
      operation.bulkId = raw.bulkId;
    } else if (method === 'POST') {
      throw invalidValue(`Operations[${index}]: a POST needs a "bulkId" (RFC 7644 §3.7).`);
    }
    if (raw.version !== undefined) {
      if (typeof raw.version !== 'string')
        throw invalidValue(`Operations[${index}]: "version" must be an ETag string.`);
      operation.version = raw.version;
    }
    if (method !== 'DELETE') {
      if (!isPlainObject(raw.data))
        throw invalidValue(`Operations[${index}]: ${method} needs a "data" object.`);
      operation.data = raw.data;
    }
    request.Operations.push(operation);
  });
  return request;
}

/**
 * Replaces `bulkId:<id>` references (RFC 7644 §3.7.2) in a path or data with the ids created earlier in the
 * same request. Returns the ids still unresolved (their operation must wait or fail).
 */
export function resolveBulkIds<T>(
  value: T,
  created: ReadonlyMap<string, string>,
): { value: T; unresolved: string[] } {
  const unresolved = new Set<string>();
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/bulkId:([^/\s"]+)/g, (whole, id: string) => {
        const resolved = created.get(id);
        if (resolved === undefined) {
          unresolved.add(id);
          return whole;
        }
        return resolved;
      });
    }
    if (Array.isArray(v)) return v.map(visit);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, visit(item)]));
    return v;
  };
  return { value: visit(value) as T, unresolved: [...unresolved] };
}

export interface BulkOperationResult {
  method: BulkMethod;
  bulkId?: string;
  version?: string;
  location?: string;
  /** HTTP status as a string (RFC 7644 §3.7.3 examples). */
  status: string;
  response?: unknown;
}

export interface BulkResponse {
  schemas: [typeof URN.BulkResponse];
  Operations: BulkOperationResult[];
}

export function bulkResponse(results: readonly BulkOperationResult[]): BulkResponse {
  return { schemas: [URN.BulkResponse], Operations: [...results] };
}

/** A failed bulk operation's result: the status plus the Error body as `response` (RFC 7644 §3.7.3). */
export function bulkErrorResult(
  operation: Pick<BulkOperation, 'method' | 'bulkId'>,
  error: ScimError,
): BulkOperationResult & { response: ScimErrorBody } {
  const result: BulkOperationResult & { response: ScimErrorBody } = {
    method: operation.method,
    status: String(error.status),
    response: toScimErrorBody(error),
  };
  if (operation.bulkId !== undefined) result.bulkId = operation.bulkId;
  return result;
}
