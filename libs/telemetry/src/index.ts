export { createMetricsRegistry } from './metrics.js';
export { opsRoutes, type OpsRoutesOptions, type ReadinessCheck } from './ops.js';
export { handleShutdown, type ServiceLifecycle } from './shutdown.js';
export { runMain } from './main.js';
