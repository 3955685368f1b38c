// Public API of @scimbridge/scim-api: the application factory, for tests, benchmarks and embedding.
export { buildApp, type AppDependencies } from './app.js';
export { apiConfigSchema, type ApiConfig } from './config.js';
export { DEFAULT_LIMITS, type ApiLimits } from './limits.js';
export { API_MONGO_OPTIONS, apiReadiness } from './dependencies.js';
export {
  PlainPolicy,
  type ResourceKind,
  type PolicyContext,
  type AnyLifecycle,
} from './resources/registry.js';
export type {
  ResourcePolicy,
  PlannedWrite,
  Computed,
  ChangeEvent,
  RenderMode,
} from './resources/lifecycle.js';
