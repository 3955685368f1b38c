import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * An array value whose elements are produced in batches while the response is written (a group's members read
 * from a cursor): a response body may carry these anywhere a value goes, and memory holds one batch at a time.
 */
export class StreamedArray {
  constructor(
    /** Elements already read (the first batch), then the rest from `more`. */
    readonly first: readonly unknown[],
    readonly more: AsyncIterable<readonly unknown[]>,
  ) {}
}

/** True when a body (a resource or a ListResponse) has a `StreamedArray` at resource level. */
export function hasStreamedArrays(body: unknown): boolean {
  const resources = resourcesOf(body);
  return resources.some((r) => Object.values(r).some((v) => v instanceof StreamedArray));
}

function resourcesOf(body: unknown): Record<string, unknown>[] {
  if (typeof body !== 'object' || body === null) return [];
  const list = (body as { Resources?: unknown }).Resources;
  if (Array.isArray(list))
    return list.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
  return [body as Record<string, unknown>];
}

/**
 * The body as a stream of JSON text: everything but the streamed arrays is serialised at once, and each streamed
 * array is written batch by batch where its placeholder stood. Stopping the stream (a client that went away)
 * stops the iteration, which closes its cursor.
 */
export function streamJson(body: unknown): Readable {
  const marker = `\u0000streamed:${randomBytes(8).toString('hex')}:`;
  const arrays: StreamedArray[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (!(value instanceof StreamedArray)) return value;
    arrays.push(value);
    return `${marker}${arrays.length - 1}`;
  });
  // JSON.stringify writes the marker's NUL as \u0000, so a placeholder is the quoted, escaped marker.
  const quoted = JSON.stringify(marker).slice(0, -1);
  const pattern = new RegExp(`${escape(quoted)}(\\d+)"`, 'g');
  async function* chunks(): AsyncGenerator<string> {
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      yield text.slice(last, match.index);
      last = match.index + match[0].length;
      yield* arrayText(arrays[Number(match[1])]!);
    }
    yield text.slice(last);
  }
  return Readable.from(chunks());
}

async function* arrayText(array: StreamedArray): AsyncGenerator<string> {
  yield '[';
  let first = true;
  const write = (batch: readonly unknown[]): string => {
    if (batch.length === 0) return '';
    const items = batch.map((item) => JSON.stringify(item)).join(',');
    const out = first ? items : `,${items}`;
    first = false;
    return out;
  };
  yield write(array.first);
  for await (const batch of array.more) yield write(batch);
  yield ']';
}

function escape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
