import { isPlainObjectValue } from './values.js';

/**
 * scim2-models (scim2-tester) serialise an extension object with its own `"schemas": []` inside a PATCH value
 * (`{"op":"add","path":"urn:…:enterprise:2.0:User","value":{"schemas":[],…}}`), which the core's strict
 * unknown-attribute policy refuses. `schemas` is never data inside an extension, so it is dropped here.
 */
export function withoutExtensionSchemas(body: unknown): unknown {
  if (!isPlainObjectValue(body) || !Array.isArray(body.Operations)) return body;
  return {
    ...body,
    Operations: body.Operations.map((operation: unknown) => {
      if (!isPlainObjectValue(operation) || !isPlainObjectValue(operation.value)) return operation;
      const path = typeof operation.path === 'string' ? operation.path : undefined;
      if (path?.toLowerCase().startsWith('urn:'))
        return { ...operation, value: dropSchemas(operation.value) };
      if (path === undefined)
        return {
          ...operation,
          value: Object.fromEntries(
            Object.entries(operation.value).map(([key, value]) => [
              key,
              key.toLowerCase().startsWith('urn:') && isPlainObjectValue(value) ? dropSchemas(value) : value,
            ]),
          ),
        };
      return operation;
    }),
  };
}

function dropSchemas(value: Record<string, unknown>): Record<string, unknown> {
  const { schemas: _ignored, ...rest } = value;
  return rest;
}
