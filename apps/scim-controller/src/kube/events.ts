import { randomBytes } from 'node:crypto';
import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND, type ScimTenant } from '../api/scim-tenant.js';

export type EventType = 'Normal' | 'Warning';

/**
 * events.k8s.io/v1 Events on ScimTenants. Repeats of the same (object, reason, message) within the window are
 * dropped on the client side; an event write failure never fails a reconcile.
 */
export class EventRecorder {
  private readonly api: EventsV1Api;
  private readonly recent = new Map<string, number>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
    private readonly reportingInstance: string,
    private readonly dedupeWindowMs = 10 * 60_000,
  ) {
    this.api = kubeConfig.makeApiClient(EventsV1Api);
  }

  async record(tenant: ScimTenant, type: EventType, reason: string, note: string): Promise<void> {
    const key = `${tenant.metadata.uid ?? ''}|${reason}|${note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeWindowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.prune(now);
    try {
      await this.api.createNamespacedEvent({
        namespace: tenant.metadata.namespace,
        body: {
          // client-go's naming, <object>.<hex time>: generateName's trailing dot would not be a valid name.
          metadata: {
            name: `${tenant.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`,
          },
          eventTime: new V1MicroTime(),
          reportingController: 'scimbridge.io/scim-controller',
          reportingInstance: this.reportingInstance,
          action: 'Reconcile',
          type,
          reason,
          note: note.slice(0, 1024),
          regarding: {
            apiVersion: API_VERSION,
            kind: KIND,
            namespace: tenant.metadata.namespace,
            name: tenant.metadata.name,
            uid: tenant.metadata.uid!,
            resourceVersion: tenant.metadata.resourceVersion!,
          },
        },
      });
    } catch (error) {
      this.logger.warn({ err: error, reason }, 'could not record event');
    }
  }

  private prune(now: number): void {
    for (const [key, at] of this.recent) if (now - at >= this.dedupeWindowMs) this.recent.delete(key);
  }
}
