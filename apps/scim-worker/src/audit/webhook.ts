import http from 'node:http';
import https from 'node:https';
import { EgressRefusedError, type EgressPolicy, type EgressRefusal } from './egress.js';
import { SIGNATURE_HEADER, signWebhookBody } from './signature.js';
import type { WebhookSinkSettings } from '../store/documents.js';

export type WebhookResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** Worth another attempt (network error, timeout, 408/425/429, 5xx); otherwise dead-letter now. */
      retryable: boolean;
      /**
       * Metric label and dead-letter reason: `http_5xx`, `http_4xx`, `http_429`, `timeout`, `network`,
       * `redirect`, `egress_scheme`, `egress_address`.
       */
      reason: string;
      status: number | null;
      /**
       * A fixed text per reason, never the receiver's or the socket's own words: a dead letter must not tell a
       * tenant what answers at an address (a port scanner's read-out).
       */
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
  /** Where webhooks may connect (scheme, addresses checked when the socket connects). */
  egress: EgressPolicy;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** POSTs one signed event; never throws, so the caller decides between retry and dead letter. */
export async function postWebhook(request: WebhookRequest): Promise<WebhookResult> {
  const url = new URL(request.sink.url);
  const refusal = request.egress.checkUrl(url);
  if (refusal) return refusedResult(refusal);
  const timestamp = Math.floor(Date.now() / 1000);
  const sent = await sendOrFailure(url, request.body, request, {
    'content-type': 'application/json',
    'user-agent': 'scimbridge-audit-webhook/1',
    [SIGNATURE_HEADER]: signWebhookBody(request.sink.secret, request.body, timestamp),
    'x-scimbridge-event-id': request.eventId,
    'x-scimbridge-delivery-attempt': String(request.attempt),
  });
  if ('ok' in sent) return sent;
  return classifyStatus(sent);
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  /** The first bytes of the body, when the caller asked for them (`keepBody`). */
  body: string;
}

/** One POST, or the failure (refused, timeout, network) as a result; the receiver's answer otherwise. */
export async function sendOrFailure(
  url: URL,
  body: string,
  request: Pick<WebhookRequest, 'timeoutMs' | 'egress'>,
  headers: Record<string, string>,
  keepBody = 0,
): Promise<Answer | Extract<WebhookResult, { ok: false }>> {
  try {
    return await send(url, body, request, headers, keepBody);
  } catch (error) {
    if (error instanceof EgressRefusedError) return refusedResult(error.reason);
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return {
      ok: false,
      retryable: true,
      reason: timedOut ? 'timeout' : 'network',
      status: null,
      message: timedOut
        ? `no response within ${request.timeoutMs} ms`
        : 'the connection to the receiver failed',
    };
  }
}

/** 2xx delivered; 5xx, 408, 425 and 429 worth another attempt; any other status final. */
export function classifyStatus(response: Answer): WebhookResult {
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
  const retryAfterMs = parseRetryAfter(response.retryAfter);
  return {
    ok: false,
    retryable: response.status >= 500 || RETRYABLE_STATUS.has(response.status),
    reason: reasonFor(response.status),
    status: response.status,
    message: `receiver answered ${response.status}`,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/**
 * One POST through node:http(s) with the egress policy's `lookup`, so the address checked is the address
 * dialled. Redirects are not followed: one could point the signed body anywhere, and receivers configure their
 * final URL. The body is drained; at most `keepBody` bytes of it are kept.
 */
function send(
  url: URL,
  body: string,
  request: Pick<WebhookRequest, 'timeoutMs' | 'egress'>,
  headers: Record<string, string>,
  keepBody: number,
): Promise<Answer> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: request.egress.lookup(),
        signal: AbortSignal.timeout(request.timeoutMs),
      },
      (incoming) => {
        const retryAfter = incoming.headers['retry-after'];
        const kept: Buffer[] = [];
        let size = 0;
        // Drain the body so the connection can be reused; only a bounded prefix is ever held.
        incoming.on('data', (chunk: Buffer) => {
          if (size >= keepBody) return;
          kept.push(chunk.subarray(0, keepBody - size));
          size += Math.min(chunk.length, keepBody - size);
        });
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            body: Buffer.concat(kept).toString('utf8'),
          }),
        );
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export function refusedResult(reason: EgressRefusal): Extract<WebhookResult, { ok: false }> {
  return {
    ok: false,
    // The operator's policy, not the receiver: another attempt would be refused the same way.
    retryable: false,
    reason,
    status: null,
    message:
      reason === 'egress_scheme'
        ? 'webhook URL must be https (plain http is not allowed by AUDIT_WEBHOOK_ALLOW_HTTP)'
        : 'webhook destination is in a refused address range (loopback, link-local, private or cluster) and not in AUDIT_WEBHOOK_ALLOWED_CIDRS',
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
