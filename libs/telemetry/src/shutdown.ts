import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { shutdownTracing } from './tracing-state.js';

export interface ServiceLifecycle {
  logger: Logger;
  /** Upper bound for all closers together; past it the process exits non-zero. */
  timeoutMs: number;
  /** Closed in order on SIGTERM/SIGINT or a fatal error: e.g. HTTP server first, then queues, then databases; traces are flushed after them. */
  closers: { name: string; close: () => Promise<void> }[];
}

/**
 * Installs graceful shutdown for a service: on SIGTERM (Kubernetes), SIGINT, an uncaught exception or an
 * unhandled rejection, run each closer in order and exit. A second signal forces exit.
 */
export function handleShutdown({ logger, timeoutMs, closers }: ServiceLifecycle): void {
  closeWithGrace({ delay: timeoutMs, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error, shutting down');
    else logger.info({ signal }, 'shutting down');
    for (const closer of closers) {
      try {
        await closer.close();
      } catch (error) {
        logger.error({ err: error, closer: closer.name }, 'error while closing');
      }
    }
    // Last, so spans of the closers themselves are exported.
    try {
      await shutdownTracing();
    } catch (error) {
      logger.error({ err: error }, 'error while flushing traces');
    }
    logger.info('shutdown complete');
  });
}
