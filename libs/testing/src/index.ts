export { startFerretDB, type FerretBackend, type MongoServer } from './ferretdb.js';
export { postgresBinDir, startPostgres, type PostgresServer } from './postgres.js';
export { startRedis, redisPing, type RedisServer } from './redis.js';
export { startKube, kubeGet, type KubeServer } from './kube.js';
export {
  ACCESS_VERBS,
  rightsOfRules,
  serviceAccountRights,
  type AccessResource,
  type AccessRule,
} from './access.js';
export { startPrometheus, type PrometheusServer, type PromSample } from './prometheus.js';
export { provideServers, type ServerKind } from './global-setup.js';
export { ManagedProcess, dataDir, queryShapesEnv, runDir, type ManagedProcessOptions } from './process.js';
export { freePort } from './ports.js';
export { toolPath, toolCacheDir } from './tools.js';
export { waitFor } from './wait.js';
export { default as ServerLogReporter } from './reporter.js';
