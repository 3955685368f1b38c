import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** controller-runtime's metric names and labels, so dashboards built for Go controllers work unchanged. */
export const CONTROLLER_NAME = 'scimtenant';

export type ReconcileResult = 'success' | 'error' | 'requeue' | 'requeue_after';

export interface ControllerMetrics {
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  activeWorkers: Gauge<'controller'>;
  depth: Gauge<'name' | 'controller'>;
  adds: Counter<'name' | 'controller'>;
  queueDuration: Histogram<'name' | 'controller'>;
  workDuration: Histogram<'name' | 'controller'>;
  retries: Counter<'name' | 'controller'>;
  unfinishedWork: Gauge<'name' | 'controller'>;
  longestRunning: Gauge<'name' | 'controller'>;
  leaderStatus: Gauge<'name'>;
  informerLastEvent: Gauge<'resource'>;
  informerRestarts: Counter<'resource' | 'reason'>;
  tenantReady: Gauge<'tenant_namespace' | 'tenant'>;
  tenantPaused: Gauge<'tenant_namespace' | 'tenant'>;
  /** Where `scim_tenant_ready` and `scim_tenant_paused` read the tenants from at each scrape (the informer's cache). */
  readTenantsFrom(source: () => readonly TenantReadiness[]): void;
}

/** One ScimTenant as the readiness gauge reports it. */
export interface TenantReadiness {
  namespace: string;
  name: string;
  ready: boolean;
  /** spec.paused: the api answers 503 for it. */
  paused: boolean;
}

// controller-runtime's buckets (pkg/internal/controller/metrics and workqueue metrics).
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  let tenants: () => readonly TenantReadiness[] = () => [];
  return {
    // Computed at scrape time from the informer's cache, so deleted tenants drop out and every replica (leader or
    // not) reports the same cluster state; alerts take `max by (tenant_namespace, tenant)`.
    tenantReady: new Gauge({
      name: 'scim_tenant_ready',
      help: 'Whether a ScimTenant is Ready (1) for its current generation, or not (0), from its status',
      labelNames: ['tenant_namespace', 'tenant'],
      registers,
      collect() {
        this.reset();
        for (const t of tenants())
          this.set({ tenant_namespace: t.namespace, tenant: t.name }, t.ready ? 1 : 0);
      },
    }),
    // The same series as scim_tenant_ready: a pause is deliberate, so ScimTenantNotReady leaves paused tenants out
    // (`unless` on these labels), and `sum` gives how many are paused.
    tenantPaused: new Gauge({
      name: 'scim_tenant_paused',
      help: 'Whether a ScimTenant has spec.paused true (1: the api answers 503 with Retry-After) or not (0), from the informer cache',
      labelNames: ['tenant_namespace', 'tenant'],
      registers,
      collect() {
        this.reset();
        for (const t of tenants())
          this.set({ tenant_namespace: t.namespace, tenant: t.name }, t.paused ? 1 : 0);
      },
    }),
    readTenantsFrom(source) {
      tenants = source;
    },
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    }),
    depth: new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers,
    }),
    adds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name', 'controller'],
      buckets: queueBuckets,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name', 'controller'],
      buckets: queueBuckets,
      registers,
    }),
    retries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    }),
    unfinishedWork: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
      labelNames: ['name', 'controller'],
      registers,
    }),
    longestRunning: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name', 'controller'],
      registers,
    }),
    leaderStatus: new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    }),
    informerLastEvent: new Gauge({
      name: 'scim_controller_informer_last_activity_timestamp_seconds',
      help: 'Unix time of the last list, watch event or reconnect seen by an informer (staleness)',
      labelNames: ['resource'],
      registers,
    }),
    informerRestarts: new Counter({
      name: 'scim_controller_informer_restarts_total',
      help: 'Informer restarts after an error or a stale watch',
      labelNames: ['resource', 'reason'],
      registers,
    }),
  };
}
