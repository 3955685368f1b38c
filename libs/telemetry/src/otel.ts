/**
 * OpenTelemetry bootstrap, loaded before the service's code: `node --import @scimbridge/telemetry/otel dist/main.js`
 * (the chart sets it through NODE_OPTIONS). Configured only through the standard OTEL_* variables
 * (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT/PROTOCOL, OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED, …).
 * Metrics stay on prom-client's /metrics and logs on stdout, so only traces are exported unless the
 * OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER variables ask for more.
 */
import { register } from 'node:module';
import { startTracing } from './tracing.js';

if (process.env.OTEL_SDK_DISABLED?.toLowerCase() !== 'true') {
  // ESM imports bypass require(): import-in-the-middle's loader hook lets instrumentations patch them too.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  startTracing();
}
