// Public API of @scimbridge/scim-api: the application factory, for tests, benchmarks and embedding.
export { buildApp, type AppDependencies } from './app.js';
export { apiConfigSchema, type ApiConfig } from './config.js';
export { DEFAULT_LIMITS, type ApiLimits } from './limits.js';
export { API_MONGO_OPTIONS, apiReadiness } from './dependencies.js';
