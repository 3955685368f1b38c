import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  path: string;
  /** Watch only objects with these labels; `list` must apply the same selector. */
  labelSelector?: string;
  list: ListPromise<T>;
  logger: Logger;
  onAdd(obj: T): void;
  onUpdate(obj: T): void;
  onDelete(obj: T): void;
  /** No event, connect or list for this long → the informer is rebuilt from a fresh list. */
  staleAfterMs: number;
  onActivity?(): void;
  onRestart?(why: 'error' | 'stale'): void;
  random?: () => number;
}

/**
 * client-node's informer stops for good on a non-410 error (and a failed LIST only emits `error`), and a
 * half-open connection can stall it silently. This wrapper restarts it with jittered exponential backoff
 * (1 s → 30 s) and rebuilds it when a watchdog sees no activity (its watch reconnects every 30 s when idle,
 * so silence past `staleAfterMs` means it is stuck).
 */
export class ResilientInformer<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private generation = 0;
  private failures = 0;
  private lastActivity = Date.now();
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopped = false;
  private listed = false;

  constructor(private readonly o: ResilientInformerOptions<T>) {}

  /** True once a LIST has succeeded: the cache reflects the cluster (readiness). */
  get synced(): boolean {
    return this.listed;
  }

  get lastActivityAt(): number {
    return this.lastActivity;
  }

  list(namespace?: string): readonly T[] {
    return this.informer?.list(namespace) ?? [];
  }

  async start(): Promise<void> {
    this.watchdog = setInterval(() => this.checkStaleness(), Math.min(this.o.staleAfterMs / 2, 10_000));
    this.watchdog.unref();
    await this.build();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    this.generation++;
    await this.informer?.stop();
  }

  private touch(): void {
    this.lastActivity = Date.now();
    this.o.onActivity?.();
  }

  private async build(): Promise<void> {
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    const informer = makeInformer<T>(
      this.o.kubeConfig,
      this.o.path,
      async () => {
        const list = await this.o.list();
        if (current()) {
          this.listed = true;
          this.failures = 0;
          this.touch();
        }
        return list;
      },
      this.o.labelSelector,
    );
    const deliver = (handler: (obj: T) => void) => (obj: T) => {
      if (!current()) return;
      this.failures = 0;
      this.touch();
      handler(obj);
    };
    informer.on(
      'add',
      deliver((obj) => this.o.onAdd(obj)),
    );
    informer.on(
      'update',
      deliver((obj) => this.o.onUpdate(obj)),
    );
    informer.on(
      'delete',
      deliver((obj) => this.o.onDelete(obj)),
    );
    informer.on('connect', () => {
      if (current()) this.touch();
    });
    informer.on('error', (error: unknown) => {
      if (!current()) return;
      this.o.logger.warn({ err: error, informer: this.o.name }, 'informer stopped; restarting with backoff');
      this.scheduleRestart('error');
    });
    const previous = this.informer;
    this.informer = informer;
    await previous?.stop();
    this.touch();
    await informer.start();
  }

  private scheduleRestart(why: 'error' | 'stale'): void {
    if (this.stopped || this.restartTimer) return;
    const base = Math.min(1_000 * 2 ** this.failures, 30_000);
    this.failures++;
    const delay = base / 2 + (this.o.random ?? Math.random)() * (base / 2);
    this.o.onRestart?.(why);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      const restart = why === 'stale' ? this.build() : this.resume();
      restart.catch((error: unknown) => {
        this.o.logger.warn({ err: error, informer: this.o.name }, 'informer restart failed');
        this.scheduleRestart('error');
      });
    }, delay);
    this.restartTimer.unref();
  }

  /** Resume the same informer from its last resourceVersion (a 410 makes it relist by itself). */
  private async resume(): Promise<void> {
    if (this.stopped || !this.informer) return;
    await this.informer.start();
  }

  private checkStaleness(): void {
    if (this.stopped || this.restartTimer) return;
    if (Date.now() - this.lastActivity < this.o.staleAfterMs) return;
    this.o.logger.warn(
      { informer: this.o.name, silentMs: Date.now() - this.lastActivity },
      'informer stale; rebuilding',
    );
    this.touch();
    this.scheduleRestart('stale');
  }
}
