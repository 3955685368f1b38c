import { invalidSyntax, invalidValue, limitExceeded } from '../errors.js';
import { DEFAULT_PATCH_LIMITS, type PatchLimits } from '../limits.js';
import { isPlainObject } from '../resource/normalise.js';
import { URN } from '../urns.js';

export type PatchOperationName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOperationName;
  path?: string;
  value?: unknown;
}

export interface PatchRequest {
  schemas: string[];
  Operations: PatchOperation[];
}

/**
 * Validates a PatchOp message (RFC 7644 §3.5.2). Tolerates what IdPs send: `op` in any case (Entra's
 * `Replace`, interop table #1), `Operations` in any key case, and an empty `Operations` list (the Microsoft
 * SCIM validator sends one, #21), which then changes nothing.
 *
 * @throws ScimError 400 invalidSyntax for a body that is not a PatchOp message; invalidValue for an unknown op.
 */
export function parsePatchRequest(
  body: unknown,
  limits: Pick<PatchLimits, 'maxOperations' | 'maxValuesPerOperation'> = DEFAULT_PATCH_LIMITS,
): PatchRequest {
  if (isParsedPatchRequest(body)) return body;
  if (!isPlainObject(body))
    throw invalidSyntax('The PATCH body must be a JSON object with "schemas" and "Operations".');
  const schemas = body.schemas;
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.PatchOp.toLowerCase())
  ) {
    throw invalidSyntax(`A PATCH body must have "schemas": ["${URN.PatchOp}"].`);
  }
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const operations = key === undefined ? undefined : body[key];
  if (!Array.isArray(operations)) throw invalidSyntax('A PATCH body must have an "Operations" array.');
  if (operations.length > limits.maxOperations)
    throw limitExceeded(
      'patch_too_many_operations',
      413,
      undefined,
      `The PATCH has ${operations.length} operations; at most ${limits.maxOperations} are accepted per request. Send several PATCH requests.`,
    );
  const request: PatchRequest = {
    schemas: [URN.PatchOp],
    Operations: operations.map((raw, index) => parseOperation(raw, index, limits.maxValuesPerOperation)),
  };
  parsed.add(request);
  return request;
}

/** Requests produced by {@link parsePatchRequest}, so that `applyPatch` does not validate them twice. */
const parsed = new WeakSet<object>();

export function isParsedPatchRequest(value: unknown): value is PatchRequest {
  return typeof value === 'object' && value !== null && parsed.has(value);
}

function parseOperation(raw: unknown, index: number, maxValues: number): PatchOperation {
  if (!isPlainObject(raw))
    throw invalidSyntax(`Operations[${index}] must be an object with "op", and "path" and/or "value".`);
  let op: unknown;
  let path: unknown;
  let value: unknown;
  let hasValue = false;
  for (const [key, v] of Object.entries(raw)) {
    switch (key.toLowerCase()) {
      case 'op':
        op = v;
        break;
      case 'path':
        path = v;
        break;
      case 'value':
        value = v;
        hasValue = true;
        break;
      default:
        break;
    }
  }
  const name = typeof op === 'string' ? op.toLowerCase() : undefined;
  if (name !== 'add' && name !== 'replace' && name !== 'remove') {
    throw invalidValue(
      `Operations[${index}]: "op" must be "add", "replace" or "remove", not ${JSON.stringify(op)}.`,
    );
  }
  if (path !== undefined && path !== null && typeof path !== 'string')
    throw invalidSyntax(`Operations[${index}]: "path" must be a string.`);
  const operation: PatchOperation = { op: name };
  if (typeof path === 'string' && path.trim() !== '') operation.path = path.trim();
  if (hasValue) {
    const values = Array.isArray(value) ? value.length : isPlainObject(value) ? Object.keys(value).length : 1;
    if (values > maxValues)
      throw limitExceeded(
        'patch_too_many_values',
        413,
        undefined,
        `Operations[${index}] has ${values} values; at most ${maxValues} are accepted per operation. Split it into several operations or requests.`,
      );
    operation.value = value;
  }
  if (name !== 'remove' && !hasValue) throw invalidValue(`Operations[${index}]: "${name}" needs a "value".`);
  return operation;
}
