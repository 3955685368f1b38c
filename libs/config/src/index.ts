export { loadConfig, ConfigError } from './load.js';
export { commonEnv, mongoEnv, redisEnv, httpEnv, envBoolean, envList } from './schemas.js';
export type { CommonEnv } from './schemas.js';
