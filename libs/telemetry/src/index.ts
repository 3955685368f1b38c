export { createMetricsRegistry } from './metrics.js';
export { opsRoutes, type OpsRoutesOptions, type ReadinessCheck } from './ops.js';
export { handleShutdown, type ServiceLifecycle } from './shutdown.js';
export { runMain } from './main.js';
export { httpMetrics, HTTP_DURATION_BUCKETS, type HttpMetricsOptions } from './http-metrics.js';
export { identityProviderClient, type IdentityProviderClient } from './client.js';
export {
  observeMongoCommands,
  withDatabaseTime,
  insideDatabaseTime,
  DB_DURATION_BUCKETS,
  type DatabaseTime,
  type MongoCommandSource,
} from './mongo-metrics.js';
export { queueTelemetry } from './queue-telemetry.js';
export { shutdownTracing } from './tracing-state.js';
export {
  commandShapes,
  isPrefixPattern,
  filterShape,
  recordQueryShapes,
  shapeKey,
  QUERY_SHAPES_DIR_ENV,
  type FilterShape,
  type QueryShape,
  type RecordQueryShapesOptions,
} from './query-shapes.js';
export {
  branchesOf,
  checkShape,
  filterText,
  keyText,
  shapeText,
  type CollectionPolicy,
  type DeclaredIndex,
  type ShapePlan,
} from './query-plan.js';
