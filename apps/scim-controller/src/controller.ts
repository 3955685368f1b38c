import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  GROUP,
  LABEL_TENANT,
  LABEL_USE,
  PLURAL,
  VERSION,
  tenantKey,
  type ScimTenant,
} from './api/scim-tenant.js';
import { EventRecorder } from './kube/events.js';
import { ResilientInformer } from './kube/informer.js';
import { LeaderElector } from './leader/lease.js';
import { CONTROLLER_NAME, createControllerMetrics, type ControllerMetrics } from './metrics.js';
import { defaultControllerRateLimiter } from './queue/rate-limiter.js';
import { WorkQueue, type HandlerResult } from './queue/work-queue.js';
import { findCondition } from './reconcile/conditions.js';
import { Reconciler, RetryLaterError, secretDigest } from './reconcile/reconciler.js';
import type { TenantBackend } from './tenancy/backend.js';
import type { DriftStatusSource } from './drift/drift-status.js';
import type { OwnershipPolicy } from './tenancy/ownership-policy.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  backend: TenantBackend;
  /** Which organisations each namespace may claim or adopt. */
  policy: OwnershipPolicy;
  logger: Logger;
  registry: Registry;
  /** Watch these namespaces (each needs the controller's Role); all namespaces when unset or empty. */
  namespaces?: readonly string[];
  /** Keys reconciled at once (controller-runtime MaxConcurrentReconciles). */
  workers?: number;
  scimBaseUrl?: string;
  /** Recheck interval for a missing default group or token Secret. */
  dependencyRequeueMs?: number;
  /** Computes status.drift on its own slow period; absent: no drift in the status. */
  drift?: DriftStatusSource;
  /** Every tenant is reconciled this often, repairing drift in MongoDB or Secrets (controller-runtime SyncPeriod). */
  resyncPeriodMs?: number;
  /** An informer silent for this long is rebuilt. */
  staleAfterMs?: number;
  /** Active/passive on a Lease; without it this replica reconciles at once. */
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    /** Leadership lost: stop reconciling at once. main.ts exits the process. */
    onLost(): void;
  };
}

export interface Controller {
  /** Both informers have listed once (readiness). */
  ready(): boolean;
  isLeader(): boolean;
  metrics: ControllerMetrics;
  stop(): Promise<void>;
}

/** Wires informers → work queue → reconciler, behind leader election. */
export async function startController(options: ControllerOptions): Promise<Controller> {
  const { kubeConfig, logger } = options;
  const metrics = createControllerMetrics(options.registry);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const identity = options.leaderElection?.identity ?? `scim-controller-${process.pid}`;
  const reconciler = new Reconciler({
    custom,
    core,
    backend: options.backend,
    policy: options.policy,
    events: new EventRecorder(kubeConfig, logger, identity),
    logger,
    ...(options.scimBaseUrl ? { scimBaseUrl: options.scimBaseUrl } : {}),
    dependencyRequeueMs: options.dependencyRequeueMs ?? 15_000,
    ...(options.drift ? { drift: options.drift } : {}),
  });

  const labels = { controller: CONTROLLER_NAME };
  const queueLabels = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
  const queue = new WorkQueue({
    rateLimiter: defaultControllerRateLimiter(),
    workers: options.workers ?? 4,
    handler: (key) => reconcileKey(key),
    onError: (key, error) => {
      if (error instanceof RetryLaterError)
        logger.info({ tenant: key, reason: error.message }, 'reconcile will be retried');
      else logger.error({ err: error, tenant: key }, 'reconcile failed');
    },
    hooks: {
      onAdd: () => metrics.adds.inc(queueLabels),
      onDepth: (depth) => metrics.depth.set(queueLabels, depth),
      onQueueLatency: (s) => metrics.queueDuration.observe(queueLabels, s),
      onWorkDuration: (s) => metrics.workDuration.observe(queueLabels, s),
      onRetry: () => metrics.retries.inc(queueLabels),
      onActiveWorkers: (n) => metrics.activeWorkers.set(labels, n),
    },
  });

  // One span per reconcile; a no-op unless the OpenTelemetry SDK is loaded (--import @scimbridge/telemetry/otel).
  const tracer = trace.getTracer('scim-controller');
  function reconcileKey(key: string): Promise<HandlerResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const attributes = { 'k8s.namespace.name': namespace, 'scimbridge.scimtenant': name };
    return tracer.startActiveSpan('reconcile ScimTenant', { attributes }, async (span) => {
      const end = metrics.reconcileTime.startTimer(labels);
      try {
        const result = await reconciler.reconcile(namespace, name);
        const outcome = result.requeueAfterMs === undefined ? 'success' : 'requeue_after';
        metrics.reconcileTotal.inc({ ...labels, result: outcome });
        span.setAttribute('scimbridge.reconcile.result', outcome);
        return result;
      } catch (error) {
        metrics.reconcileTotal.inc({ ...labels, result: 'error' });
        metrics.reconcileErrors.inc(labels);
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        end();
        span.end();
      }
    });
  }

  const keyOf = (t: ScimTenant) => tenantKey(t.metadata.namespace, t.metadata.name);
  const seenGeneration = new Map<string, number>();
  // One informer per watched namespace (each namespace grants the controller a Role), or one for the cluster.
  const scopes: (string | undefined)[] = options.namespaces?.length ? [...options.namespaces] : [undefined];
  const tenantInformers = scopes.map(
    (namespace) =>
      new ResilientInformer<ScimTenant>({
        name: 'scimtenants',
        kubeConfig,
        path: namespace
          ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
          : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
        list: async () =>
          (namespace
            ? await custom.listNamespacedCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
                namespace,
              })
            : await custom.listClusterCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
              })) as KubernetesListObject<ScimTenant>,
        logger,
        staleAfterMs: options.staleAfterMs ?? 120_000,
        onActivity: () => metrics.informerLastEvent.set({ resource: 'scimtenants' }, Date.now() / 1000),
        onRestart: (reason) => metrics.informerRestarts.inc({ resource: 'scimtenants', reason }),
        onAdd: (t) => {
          seenGeneration.set(keyOf(t), t.metadata.generation ?? 0);
          queue.add(keyOf(t));
        },
        // Like controller-runtime's GenerationChangedPredicate: our own status writes do not requeue.
        onUpdate: (t) => {
          const key = keyOf(t);
          const generation = t.metadata.generation ?? 0;
          if (seenGeneration.get(key) === generation && !t.metadata.deletionTimestamp) return;
          seenGeneration.set(key, generation);
          queue.add(key);
        },
        onDelete: (t) => {
          seenGeneration.delete(keyOf(t));
          queue.add(keyOf(t));
        },
      }),
  );
  const listTenants = (namespace?: string): ScimTenant[] =>
    tenantInformers.flatMap((informer) => informer.list(namespace));

  /** A Secret event concerns the tenants that generated it, or that reference it (token, webhook or event stream). */
  const tenantsOfSecret = (secret: V1Secret): string[] => {
    const namespace = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    const keys = new Set<string>();
    const owner = secret.metadata?.labels?.[LABEL_TENANT];
    if (owner) keys.add(tenantKey(namespace, owner));
    for (const t of listTenants(namespace)) {
      const refs = [
        t.spec.token?.existingSecretRef?.name,
        ...(t.spec.audit?.webhooks ?? []).map((w) => w.secretRef.name),
        ...(t.spec.audit?.eventStreams ?? []).map((s) => s.authorizationSecretRef?.name),
      ];
      if (refs.includes(name)) keys.add(keyOf(t));
    }
    return [...keys];
  };
  const enqueueForSecret = (secret: V1Secret) => {
    for (const key of tenantsOfSecret(secret)) queue.add(key);
  };
  const enqueueForChangedSecret = (secret: V1Secret) => {
    const id = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
    const ours = reconciler.writtenSecrets.get(id);
    if (ours !== undefined && ours === secretDigest(secret)) return;
    enqueueForSecret(secret);
  };
  // Only Secrets labelled for this project are cached (ours, and those that opted in to be referenced): the
  // controller's memory never holds the plaintext of the namespace's other Secrets. A Secret losing the label
  // arrives as a delete, so a reference to it is rechecked.
  const secretInformers = scopes.map(
    (namespace) =>
      new ResilientInformer<V1Secret>({
        name: 'secrets',
        kubeConfig,
        path: namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
        labelSelector: LABEL_USE,
        list: () =>
          namespace
            ? core.listNamespacedSecret({ namespace, labelSelector: LABEL_USE })
            : core.listSecretForAllNamespaces({ labelSelector: LABEL_USE }),
        logger,
        staleAfterMs: options.staleAfterMs ?? 120_000,
        onActivity: () => metrics.informerLastEvent.set({ resource: 'secrets' }, Date.now() / 1000),
        onRestart: (reason) => metrics.informerRestarts.inc({ resource: 'secrets', reason }),
        onAdd: enqueueForChangedSecret,
        onUpdate: enqueueForChangedSecret,
        onDelete: (secret) => {
          reconciler.writtenSecrets.delete(
            `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`,
          );
          enqueueForSecret(secret);
        },
      }),
  );
  const informers = [...tenantInformers, ...secretInformers];

  metrics.readTenantsFrom(() =>
    listTenants().map((t) => {
      const ready = findCondition(t.status?.conditions, 'Ready');
      return {
        namespace: t.metadata.namespace,
        name: t.metadata.name,
        // Ready for an older generation means the current spec is not applied yet.
        ready: ready?.status === 'True' && ready.observedGeneration === t.metadata.generation,
        paused: t.spec.paused === true,
      };
    }),
  );

  const gauges = setInterval(() => {
    metrics.unfinishedWork.set(queueLabels, queue.unfinishedWorkSeconds());
    metrics.longestRunning.set(queueLabels, queue.longestRunningSeconds());
  }, 1_000);
  gauges.unref();
  const resync = setInterval(() => {
    for (const t of listTenants()) queue.add(keyOf(t));
  }, options.resyncPeriodMs ?? 600_000);
  resync.unref();

  // Caches fill on every replica so a new leader starts warm; only the leader runs the queue.
  for (const informer of informers) await informer.start();

  let elector: LeaderElector | undefined;
  const election = options.leaderElection;
  if (election) {
    elector = new LeaderElector({
      kubeConfig,
      namespace: election.namespace,
      name: election.name,
      identity: election.identity,
      logger,
      ...(election.leaseDurationMs ? { leaseDurationMs: election.leaseDurationMs } : {}),
      ...(election.renewDeadlineMs ? { renewDeadlineMs: election.renewDeadlineMs } : {}),
      ...(election.retryPeriodMs ? { retryPeriodMs: election.retryPeriodMs } : {}),
      onStatus: (leading) => metrics.leaderStatus.set({ name: election.name }, leading ? 1 : 0),
      onStartedLeading: () => queue.start(),
      onStoppedLeading: () => election.onLost(),
    });
    elector.start();
  } else {
    queue.start();
  }

  return {
    ready: () => informers.every((informer) => informer.synced),
    isLeader: () => (elector ? elector.isLeader : true),
    metrics,
    async stop() {
      clearInterval(gauges);
      clearInterval(resync);
      for (const informer of informers) await informer.stop();
      await queue.shutdown();
      await elector?.release();
    },
  };
}
