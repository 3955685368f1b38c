/** Polls `probe` until it returns true or the deadline passes; the last probe error becomes the failure detail. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 100,
    isAlive,
  }: { timeoutMs?: number; intervalMs?: number; isAlive?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (isAlive && !isAlive()) throw new Error(`${what}: process exited before it was ready`);
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`${what} not ready after ${timeoutMs} ms${detail}`);
}
