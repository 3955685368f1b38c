import { performance } from 'node:perf_hooks';

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

function summarise(latencies: number[], errors: number, elapsedMs: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    requests: sorted.length,
    errors,
    rps: (sorted.length * 1000) / elapsedMs,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** Closed loop: `concurrency` workers issue requests back to back for `durationMs` (throughput). */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  request: (i: number) => Promise<boolean>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await request(n++).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors += 1;
      }
    }),
  );
  return summarise(latencies, errors, performance.now() - start);
}

/**
 * Open loop: requests start at a fixed rate whatever the latency (p99 at a given load). A request that would
 * exceed `maxInflight` is not sent and counts as an error, so an overloaded server is reported, not buried.
 */
export async function openLoop(
  rate: number,
  durationMs: number,
  request: (i: number) => Promise<boolean>,
  maxInflight = 256,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let active = 0;
  const total = Math.round((rate * durationMs) / 1000);
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (active >= maxInflight) {
      errors += 1;
      continue;
    }
    active += 1;
    inflight.push(
      (async () => {
        const t = performance.now();
        const ok = await request(i).catch(() => false);
        // Latency from the scheduled start: a stalled generator does not hide queueing (coordinated omission).
        latencies.push(performance.now() - Math.min(t, due));
        if (!ok) errors += 1;
        active -= 1;
      })(),
    );
  }
  await Promise.all(inflight);
  return summarise(latencies, errors, performance.now() - start);
}
