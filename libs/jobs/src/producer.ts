import { Queue, type ConnectionOptions, type QueueOptions } from 'bullmq';
import type { z } from 'zod';
import type { EnqueueInput, EnqueueOptions, EnqueueResult, JobTarget, QueueSource } from './define.js';
import {
  accountLinkedJob,
  auditFanoutJob,
  defaultGroupJob,
  type AccountLinkedPayload,
  type AuditFanoutPayload,
  type DefaultGroupPayload,
} from './definitions.js';
import { DEFAULT_QUEUE_PREFIX, QueueName } from './queues.js';

/** The queues a producer owns; `scim-audit-delivery` is the worker's own. */
export type ProducerQueueName = typeof QueueName.provisioning | typeof QueueName.audit;

/** A job a producer can add: on one of its queues, and needing nothing beyond its payload. */
export interface ProducerJob<P> {
  readonly queue: ProducerQueueName;
  readonly schema: z.ZodType<P>;
  enqueue: (target: JobTarget, input: EnqueueInput<P>, options?: EnqueueOptions) => Promise<EnqueueResult>;
}

export interface JobProducerOptions {
  /**
   * An ioredis client or its options. For a request path, prefer `{ maxRetriesPerRequest: 1 }`: during an
   * outage a command fails after one reconnection attempt instead of waiting for Redis indefinitely (the enqueue
   * timeout bounds the wait either way).
   */
  connection: ConnectionOptions;
  prefix?: string;
  enqueue?: EnqueueOptions;
}

/**
 * Owns the two public queues; what the api holds for the lifetime of the process. A BullMQ queue whose
 * connection was not ready when it was created (e.g. an ioredis client with `enableOfflineQueue: false`
 * during start-up or a reconnect) stays broken for good: its initialisation promise rejects once and every
 * later add re-throws that error. So a queue that reported an error is replaced on the next enqueue once the
 * connection is ready again.
 */
export class JobProducer implements QueueSource {
  private readonly slots: Record<'provisioning' | 'audit', ProducerQueue>;
  private readonly enqueueOptions: EnqueueOptions | undefined;

  constructor(options: JobProducerOptions) {
    const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
    // skipWaitingForReady: constructing the producer must not block start-up while Redis is down.
    const queueOptions = { connection: options.connection, prefix, skipWaitingForReady: true };
    this.slots = {
      provisioning: new ProducerQueue(QueueName.provisioning, queueOptions),
      audit: new ProducerQueue(QueueName.audit, queueOptions),
    };
    this.enqueueOptions = options.enqueue;
  }

  get provisioning(): Queue {
    return this.slots.provisioning.current();
  }

  get audit(): Queue {
    return this.slots.audit.current();
  }

  /** The queue of that name, for a definition's `enqueue(producer, …)`. */
  queueFor(name: QueueName): Queue {
    if (name === QueueName.provisioning) return this.provisioning;
    if (name === QueueName.audit) return this.audit;
    throw new Error(`the producer has no queue "${name}"`);
  }

  /** Adds any job on the producer's queues, with the producer's timeout; see `JobDefinition.enqueue`. */
  enqueue<P>(definition: ProducerJob<P>, input: EnqueueInput<P>): Promise<EnqueueResult> {
    return definition.enqueue(this, input, this.enqueueOptions);
  }

  /** `user.default-group` (`defaultGroupJob`). Throws (a ZodError) only for an invalid payload. */
  defaultGroup(input: EnqueueInput<DefaultGroupPayload>): Promise<EnqueueResult> {
    return this.enqueue(defaultGroupJob, input);
  }

  /** `account.linked` (`accountLinkedJob`). */
  accountLinked(input: EnqueueInput<AccountLinkedPayload>): Promise<EnqueueResult> {
    return this.enqueue(accountLinkedJob, input);
  }

  /** `audit.fanout` (`auditFanoutJob`); call after the audit event is stored. */
  auditFanout(input: EnqueueInput<AuditFanoutPayload>): Promise<EnqueueResult> {
    return this.enqueue(auditFanoutJob, input);
  }

  /** Resolves once Redis answered; optional, since enqueues made before that wait (bounded by the timeout). */
  async waitUntilReady(): Promise<void> {
    await Promise.all([this.provisioning.waitUntilReady(), this.audit.waitUntilReady()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.slots.provisioning.close(), this.slots.audit.close()]);
  }
}

class ProducerQueue {
  private queue: Queue;
  private failed = false;

  constructor(
    private readonly name: string,
    private readonly options: QueueOptions,
  ) {
    this.queue = this.open();
  }

  current(): Queue {
    if (this.failed && isReady(this.options.connection)) {
      const broken = this.queue;
      broken.close().catch(() => undefined);
      this.queue = this.open();
    }
    return this.queue;
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private open(): Queue {
    this.failed = false;
    const queue = new Queue(this.name, this.options);
    // Errors surface through each EnqueueResult; the flag lets the next enqueue replace a broken queue.
    queue.on('error', () => {
      if (queue === this.queue) this.failed = true;
    });
    return queue;
  }
}

/** A passed-in client reports its state; for connection options BullMQ owns (and heals) the client. */
function isReady(connection: ConnectionOptions): boolean {
  const status = (connection as { status?: unknown }).status;
  return status === undefined || status === 'ready';
}
