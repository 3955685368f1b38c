/** The HTTP status of a failed client-node call (ApiException.code), or undefined for transport errors. */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;
/** 409 (resourceVersion conflict) or 422 from a failed JSON-patch `test`: re-read and retry. */
export const isConflict = (error: unknown): boolean => statusCode(error) === 409 || statusCode(error) === 422;
