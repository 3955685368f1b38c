import FastifyOtel from '@fastify/otel';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { registerTracingShutdown } from './tracing-state.js';

/** Probes and scrapes are not traced: they would drown the traces that matter. */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Starts the NodeSDK with the instrumentations the services need. Called by the `./otel` entry point. */
export function startTracing(): void {
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => OPS_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
      }),
      new FastifyOtel.FastifyOtelInstrumentation({
        // Hooks into every Fastify instance as it is created: the services need no code for it.
        registerOnInitialization: true,
        ignorePaths: ({ url }) => OPS_PATHS.has(url),
      }),
      new UndiciInstrumentation(),
      new MongoDBInstrumentation({ dbStatementSerializer: () => '' }),
      new IORedisInstrumentation(),
      // trace_id/span_id/trace_flags on every log line; the lines themselves stay on stdout.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  registerTracingShutdown(() => sdk.shutdown());
}
