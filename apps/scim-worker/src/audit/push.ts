import type { EgressPolicy } from './egress.js';
import { classifyStatus, refusedResult, sendOrFailure, type WebhookResult } from './webhook.js';
import type { EventStreamSettings } from '../store/documents.js';

/**
 * RFC 8935 §2.3 error codes a receiver answers in a 400's JSON body (`{"err": …, "description": …}`). Each means
 * the SET will never be accepted as it is, so it is dead-lettered at once, with the code as its reason
 * (`set_<code>`); an unknown code is `set_error`. The receiver's `description` is not kept (its own words, see
 * `WebhookResult.message`).
 */
export const SET_ERROR_CODES = [
  'invalid_request',
  'invalid_key',
  'invalid_issuer',
  'invalid_audience',
  'authentication_failed',
  'access_denied',
] as const;

/** Bytes of a 400's body read for its error code. */
const ERROR_BODY_LIMIT = 4_096;

export interface PushRequest {
  stream: EventStreamSettings;
  /** The compact SET. */
  token: string;
  timeoutMs: number;
  egress: EgressPolicy;
}

/**
 * One RFC 8935 push: POST `application/secevent+jwt`, the compact SET as the body. 202 (any 2xx) acknowledges;
 * a 400 is final, with the RFC 8935 error code when the body names one; other answers and failures are
 * classified as for webhooks (5xx, 408, 425, 429, timeouts and network errors are retried). Never throws.
 */
export async function pushSecurityEvent(request: PushRequest): Promise<WebhookResult> {
  const url = new URL(request.stream.url);
  const refusal = request.egress.checkUrl(url);
  if (refusal) return refusedResult(refusal);
  const sent = await sendOrFailure(
    url,
    request.token,
    request,
    {
      'content-type': 'application/secevent+jwt',
      accept: 'application/json',
      'user-agent': 'scimbridge-scim-events/1',
      ...(request.stream.authorization ? { authorization: request.stream.authorization } : {}),
    },
    ERROR_BODY_LIMIT,
  );
  if ('ok' in sent) return sent;
  if (sent.status !== 400) return classifyStatus(sent);
  const code = errorCode(sent.body);
  return {
    ok: false,
    retryable: false,
    reason: code ? `set_${code}` : 'set_error',
    status: 400,
    message: code
      ? `receiver refused the SET: ${code} (RFC 8935 §2.3)`
      : 'receiver answered 400 without an RFC 8935 error code',
  };
}

function errorCode(body: string): (typeof SET_ERROR_CODES)[number] | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const err = (parsed as { err?: unknown } | null)?.err;
    return SET_ERROR_CODES.find((code) => code === err);
  } catch {
    return undefined;
  }
}
