import { SIGNATURE_HEADER, signWebhookBody } from './signature.js';
import type { WebhookSinkSettings } from '../store/documents.js';

export type WebhookResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** Worth another attempt (network error, timeout, 408/425/429, 5xx); otherwise dead-letter now. */
      retryable: boolean;
      /** Metric label and dead-letter reason: `http_5xx`, `http_4xx`, `http_429`, `timeout`, `network`, `redirect`. */
      reason: string;
      status: number | null;
      message: string;
      /** From a `Retry-After` header, when the receiver sent one. */
      retryAfterMs?: number;
    };

export interface WebhookRequest {
  sink: WebhookSinkSettings;
  eventId: string;
  body: string;
  attempt: number;
  timeoutMs: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** POSTs one signed event; never throws, so the caller decides between retry and dead letter. */
export async function postWebhook(request: WebhookRequest): Promise<WebhookResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  let response: Response;
  try {
    response = await fetch(request.sink.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'scimbridge-audit-webhook/1',
        [SIGNATURE_HEADER]: signWebhookBody(request.sink.secret, request.body, timestamp),
        'x-scimbridge-event-id': request.eventId,
        'x-scimbridge-delivery-attempt': String(request.attempt),
      },
      body: request.body,
      // A redirect could point the signed body anywhere; receivers configure their final URL.
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return {
      ok: false,
      retryable: true,
      reason: timedOut ? 'timeout' : 'network',
      status: null,
      message: timedOut ? `no response within ${request.timeoutMs} ms` : describe(error),
    };
  }
  // Drain the body so the keep-alive connection is reused.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return {
    ok: false,
    retryable: response.status >= 500 || RETRYABLE_STATUS.has(response.status),
    reason: reasonFor(response.status),
    status: response.status,
    message: `receiver answered ${response.status}`,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function reasonFor(status: number): string {
  if (status === 429) return 'http_429';
  if (status >= 500) return 'http_5xx';
  if (status >= 300 && status < 400) return 'redirect';
  return 'http_4xx';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
