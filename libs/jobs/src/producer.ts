import { Queue, type ConnectionOptions } from 'bullmq';
import {
  enqueueAccountLinked,
  enqueueAuditFanout,
  enqueueDefaultGroup,
  type EnqueueInput,
  type EnqueueOptions,
  type EnqueueResult,
} from './enqueue.js';
import type { AccountLinkedPayload, AuditFanoutPayload, DefaultGroupPayload } from './payloads.js';
import { DEFAULT_QUEUE_PREFIX, QueueName } from './queues.js';

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

/** Owns the two public queues; what the api holds for the lifetime of the process. */
export class JobProducer {
  readonly provisioning: Queue;
  readonly audit: Queue;
  private readonly enqueueOptions: EnqueueOptions | undefined;

  constructor(options: JobProducerOptions) {
    const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
    // skipWaitingForReady: constructing the producer must not block start-up while Redis is down.
    const queueOptions = { connection: options.connection, prefix, skipWaitingForReady: true };
    this.provisioning = new Queue(QueueName.provisioning, queueOptions);
    this.audit = new Queue(QueueName.audit, queueOptions);
    this.enqueueOptions = options.enqueue;
    // Errors surface through each EnqueueResult; without a listener EventEmitter would throw them.
    for (const queue of [this.provisioning, this.audit]) queue.on('error', () => undefined);
  }

  defaultGroup(input: EnqueueInput<DefaultGroupPayload>): Promise<EnqueueResult> {
    return enqueueDefaultGroup(this.provisioning, input, this.enqueueOptions);
  }

  accountLinked(input: EnqueueInput<AccountLinkedPayload>): Promise<EnqueueResult> {
    return enqueueAccountLinked(this.provisioning, input, this.enqueueOptions);
  }

  auditFanout(input: EnqueueInput<AuditFanoutPayload>): Promise<EnqueueResult> {
    return enqueueAuditFanout(this.audit, input, this.enqueueOptions);
  }

  /** Resolves once Redis answered; optional, since enqueues made before that wait (bounded by the timeout). */
  async waitUntilReady(): Promise<void> {
    await Promise.all([this.provisioning.waitUntilReady(), this.audit.waitUntilReady()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.provisioning.close(), this.audit.close()]);
  }
}
