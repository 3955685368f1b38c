import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from '../kube/errors.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  /** client-go defaults 15/10/2 s; renewDeadline + retryPeriod < leaseDuration. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  /** Called once, when a lease this replica held can no longer be renewed. The caller exits the process. */
  onStoppedLeading(): void;
  onStatus?(leading: boolean): void;
}

/**
 * Active/passive replicas on a coordination.k8s.io/v1 Lease, modelled on client-go tools/leaderelection:
 * optimistic updates with resourceVersion, and expiry judged by *local* time since the record last changed
 * (observedTime), so clock skew between replicas does not matter.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { holder?: string; renewTime?: string; resourceVersion?: string } = {};
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;

  constructor(private readonly o: LeaderElectionOptions) {
    this.api = o.kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs + this.retryPeriodMs >= this.leaseDurationMs)
      throw new Error('leader election needs renewDeadline + retryPeriod < leaseDuration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.o.onStatus?.(false);
    this.loop();
  }

  /** Gives the lease up (renewTime in the past) so a standby takes over without waiting for expiry. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    this.o.onStatus?.(false);
    try {
      const lease = await this.api.readNamespacedLease({ namespace: this.o.namespace, name: this.o.name });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime(Date.now() - 60_000);
      await this.api.replaceNamespacedLease({ namespace: this.o.namespace, name: this.o.name, body: lease });
    } catch (error) {
      this.o.logger.warn({ err: error }, 'could not release the lease');
    }
  }

  private loop(): void {
    if (this.stopped) return;
    this.tryAcquireOrRenew()
      .then((held) => this.afterAttempt(held))
      .catch((error: unknown) => {
        this.o.logger.warn({ err: error }, 'leader election attempt failed');
        this.afterAttempt(false);
      })
      .finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(
          () => this.loop(),
          this.retryPeriodMs * (this.leading ? 1 : 1 + Math.random() * 0.2),
        );
        this.timer.unref();
      });
  }

  private afterAttempt(held: boolean): void {
    if (held) {
      this.lastRenewed = Date.now();
      if (!this.leading) {
        this.leading = true;
        this.o.logger.info({ lease: this.o.name, identity: this.o.identity }, 'became leader');
        this.o.onStatus?.(true);
        this.o.onStartedLeading();
      }
      return;
    }
    const takenOver =
      this.observed.holder !== undefined &&
      this.observed.holder !== '' &&
      this.observed.holder !== this.o.identity;
    if (this.leading && (takenOver || Date.now() - this.lastRenewed >= this.renewDeadlineMs)) {
      this.leading = false;
      this.stopped = true;
      this.o.onStatus?.(false);
      this.o.logger.error({ lease: this.o.name }, 'leadership lost: could not renew the lease in time');
      this.o.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new V1MicroTime();
    const durationSeconds = Math.round(this.leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }

    const spec = lease.spec ?? {};
    const record = {
      holder: spec.holderIdentity ?? '',
      renewTime: String(spec.renewTime ?? ''),
      resourceVersion: lease.metadata?.resourceVersion ?? '',
    };
    if (record.holder !== this.observed.holder || record.renewTime !== this.observed.renewTime) {
      this.observed = record;
      this.observedAt = Date.now();
    }
    const heldByOther = record.holder !== '' && record.holder !== identity;
    const otherDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.observedAt + otherDurationMs > Date.now()) return false;

    const changingHolder = record.holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      acquireTime: changingHolder ? now : (spec.acquireTime ?? now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (changingHolder && record.holder !== '' ? 1 : 0),
    };
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }
}
