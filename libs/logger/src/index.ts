import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written to logs: bearer tokens, cookies, passwords and token material (platform-conventions §3c).
 * Fastify's request serializer puts headers under req.headers.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  'token',
  'password',
  'secret',
  '*.secret',
];

export interface LoggerSettings {
  service: string;
  level?: LoggerOptions['level'];
  /** Extra bindings on every line, e.g. the service version. */
  base?: Record<string, unknown>;
}

/** pino options shared by every service, also handed to Fastify so request logs look the same. */
export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    level: settings.level ?? 'info',
    base: { service: settings.service, ...settings.base },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level as a label ("info") so log shippers need no mapping table.
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** A JSON logger writing to stdout, one line per event. */
export function createLogger(settings: LoggerSettings, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(settings), destination) : pino(loggerOptions(settings));
}
