import { createHash } from 'node:crypto';

/**
 * The id of an audit event the worker emits because of another event: a UUIDv7 whose timestamp is the source
 * event's (when that is a UUIDv7) and whose random bits are a hash of source and action. A retried job computes
 * the same id, so the insert of the emitted event is idempotent under the `_id` unique index.
 */
export function derivedEventId(sourceEventId: string, action: string): string {
  const hash = createHash('sha256').update(`${sourceEventId}\u0000${action}`).digest('hex');
  const source = sourceEventId.replaceAll('-', '').toLowerCase();
  const timestamp = /^[\da-f]{12}7/.test(source) ? source.slice(0, 12) : hash.slice(0, 12);
  const variant = ((Number.parseInt(hash[16]!, 16) & 0x3) | 0x8).toString(16);
  const hex = `${timestamp}7${hash.slice(13, 16)}${variant}${hash.slice(17, 32)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
