import { createLogger, type Logger } from '@scimbridge/logger';
import type { PublishedAuditEvent } from './event-body.js';

/**
 * The JSON-lines audit stream for log shippers: its own logger (fixed level, `stream: "audit"` on every line)
 * so LOG_LEVEL never filters it out and shippers can route it by that field.
 */
export class AuditLogStream {
  private readonly logger: Logger;

  constructor(destination?: NodeJS.WritableStream) {
    this.logger = createLogger(
      { service: 'scim-worker', level: 'info', base: { stream: 'audit' } },
      destination,
    );
  }

  write(event: PublishedAuditEvent): void {
    this.logger.info({ event }, 'audit event');
  }
}
