import { URN } from './urns.js';

/**
 * The `scimType` values of RFC 7644 §3.12, plus the cursor errors of RFC 9865 §4.
 */
export type ScimErrorType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor'
  | 'expiredCursor';

/** The SCIM Error message body (RFC 7644 §3.12): `status` is a string there, not a number. */
export interface ScimErrorBody {
  schemas: [typeof URN.Error];
  status: string;
  scimType?: ScimErrorType;
  detail: string;
}

/**
 * The one error type of the library. Everything the core rejects is a `ScimError`; the api maps it to HTTP
 * once (status code + `toScimErrorBody`). `detail` is written for the person who has to fix the request.
 */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimErrorType | undefined;
  readonly detail: string;
  /** Set when the request was refused by a cost limit (docs/api.md "Limits"): the metric label and the docs' name. */
  readonly refusal: RefusalReason | undefined;

  constructor(status: number, detail: string, scimType?: ScimErrorType, refusal?: RefusalReason) {
    super(scimType ? `${status} ${scimType}: ${detail}` : `${status}: ${detail}`);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
    this.detail = detail;
    this.refusal = refusal;
  }

  /** A copy with more context prepended to the detail (used to name the failing PATCH operation or bulk op). */
  withDetailPrefix(prefix: string): ScimError {
    return new ScimError(this.status, `${prefix}${this.detail}`, this.scimType, this.refusal);
  }
}

/**
 * Why a request was refused before (or instead of) doing its work: one name per cost limit, shared by the
 * error, the `scim_refused_requests_total{reason}` metric, the docs and the tests.
 */
export type RefusalReason =
  | 'filter_too_complex'
  | 'filter_too_broad'
  | 'patch_too_many_operations'
  | 'patch_too_many_values'
  | 'attribute_too_many_values'
  | 'patch_too_costly'
  | 'payload_too_large'
  | 'too_many_candidates';

/** A refusal by a cost limit: `status`/`scimType` as RFC 7644 asks, `detail` naming the figure and the limit. */
export function limitExceeded(
  refusal: RefusalReason,
  status: 400 | 413,
  scimType: ScimErrorType | undefined,
  detail: string,
): ScimError {
  return new ScimError(status, detail, scimType, refusal);
}

export function isScimError(value: unknown): value is ScimError {
  return value instanceof ScimError;
}

/** Renders the RFC 7644 §3.12 error body; `status` becomes a string as the RFC's examples show. */
export function toScimErrorBody(error: ScimError): ScimErrorBody {
  const body: ScimErrorBody = { schemas: [URN.Error], status: String(error.status), detail: error.detail };
  if (error.scimType) body.scimType = error.scimType;
  return body;
}

export const invalidFilter = (detail: string): ScimError => new ScimError(400, detail, 'invalidFilter');
export const tooMany = (detail: string): ScimError => new ScimError(400, detail, 'tooMany');
export const uniqueness = (detail: string): ScimError => new ScimError(409, detail, 'uniqueness');
export const mutability = (detail: string): ScimError => new ScimError(400, detail, 'mutability');
export const invalidSyntax = (detail: string): ScimError => new ScimError(400, detail, 'invalidSyntax');
export const invalidPath = (detail: string): ScimError => new ScimError(400, detail, 'invalidPath');
export const noTarget = (detail: string): ScimError => new ScimError(400, detail, 'noTarget');
export const invalidValue = (detail: string): ScimError => new ScimError(400, detail, 'invalidValue');
export const invalidVersion = (detail: string): ScimError => new ScimError(400, detail, 'invalidVers');
export const sensitive = (detail: string): ScimError => new ScimError(403, detail, 'sensitive');
export const invalidCursor = (detail: string): ScimError => new ScimError(400, detail, 'invalidCursor');
export const expiredCursor = (detail: string): ScimError => new ScimError(400, detail, 'expiredCursor');
export const notFound = (detail: string): ScimError => new ScimError(404, detail);
export const preconditionFailed = (detail: string): ScimError => new ScimError(412, detail);
export const payloadTooLarge = (detail: string): ScimError =>
  new ScimError(413, detail, undefined, 'payload_too_large');
