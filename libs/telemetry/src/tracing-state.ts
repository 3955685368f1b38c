// The SDK lives in the module loaded by --import; the service's own copy of this package (possibly another
// module instance) reaches it through this global to flush spans at shutdown.
const SHUTDOWN = Symbol.for('@scimbridge/telemetry.shutdownTracing');
type Shutdown = () => Promise<void>;

export function registerTracingShutdown(shutdown: Shutdown): void {
  (globalThis as Record<symbol, Shutdown>)[SHUTDOWN] = shutdown;
}

/** Flushes and stops tracing if the `./otel` entry point started it; handleShutdown calls it last. */
export async function shutdownTracing(): Promise<void> {
  const shutdown = (globalThis as Record<symbol, Shutdown | undefined>)[SHUTDOWN];
  if (shutdown) await shutdown();
}
