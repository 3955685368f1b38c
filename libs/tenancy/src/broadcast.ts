import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { PendingBroadcastDocument } from './collections.js';
import { deliverBroadcast, recordBroadcast } from './pending-broadcasts.js';

/** Every api replica drops these token ids from its auth cache on receipt (docs/contracts.md "Tokens"). */
export const TOKEN_REVOCATION_CHANNEL = 'scimbridge:tokens:revoked';
/** Every api replica re-reads the organisation's settings on receipt (disable takes effect at once). */
export const ORGANISATION_CHANGE_CHANNEL = 'scimbridge:organisations:changed';

export interface TokenRevocationMessage {
  orgId: string;
  tokenIds: string[];
}

/**
 * Records a token revocation in the broadcast outbox: call before deleting the tokens, then `deliverBroadcast`, so a
 * Redis outage delays the broadcast but never loses it (docs/contracts.md "Tokens").
 */
export function recordTokenRevocation(
  connection: Connection,
  orgId: string,
  tokenIds: string[],
): Promise<PendingBroadcastDocument> {
  const message: TokenRevocationMessage = { orgId, tokenIds };
  return recordBroadcast(connection, orgId, TOKEN_REVOCATION_CHANNEL, message);
}

/** Tells every replica to re-read the settings (a disable takes effect at once); true once published. */
export async function publishOrganisationChange(
  connection: Connection,
  redis: Redis,
  orgId: string,
): Promise<boolean> {
  const doc = await recordBroadcast(connection, orgId, ORGANISATION_CHANGE_CHANNEL, { orgId });
  return deliverBroadcast(connection, redis, doc);
}

export interface TenancyChangeHandlers {
  tokensRevoked(message: TokenRevocationMessage): void;
  organisationChanged(orgId: string): void;
  /** The subscription was (re)established: messages may have been missed meanwhile. */
  resubscribed(): void;
  /** The subscription was lost: messages are missed until it is back. */
  unsubscribed(): void;
}

/**
 * Listens on both channels with its own connection (a subscribed ioredis client can do nothing else).
 * Malformed messages are ignored: the channel is internal, and the cache TTL is the backstop.
 */
export class TokenRevocationSubscriber {
  private readonly redis: Redis;
  private started = false;
  private subscribed = false;

  constructor(
    redis: Redis,
    private readonly handlers: TenancyChangeHandlers,
  ) {
    this.redis = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
    this.redis.on('message', (channel: string, text: string) => this.receive(channel, text));
    // ioredis re-subscribes on every reconnect; only the first subscription is ours to send.
    this.redis.on('ready', () => {
      if (!this.started) return;
      this.subscribed = true;
      this.handlers.resubscribed();
    });
    this.redis.on('close', () => {
      if (!this.subscribed) return;
      this.subscribed = false;
      this.handlers.unsubscribed();
    });
  }

  /**
   * Subscribes, waiting at most `waitMs`: start-up never blocks on Redis. The subscription is completed in the
   * background when Redis is reachable again.
   */
  async start(waitMs = 1_000): Promise<void> {
    this.started = true;
    const subscription = this.redis.subscribe(TOKEN_REVOCATION_CHANNEL, ORGANISATION_CHANGE_CHANNEL).then(
      () => {
        this.subscribed = this.redis.status === 'ready';
      },
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    });
    await Promise.race([subscription, waited]);
    clearTimeout(timer);
  }

  /** True while messages reach this replica. */
  isSubscribed(): boolean {
    return this.subscribed;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.resolve();
  }

  private receive(channel: string, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const { orgId, tokenIds } = message as Partial<TokenRevocationMessage>;
    if (typeof orgId !== 'string') return;
    if (channel === ORGANISATION_CHANGE_CHANNEL) {
      this.handlers.organisationChanged(orgId);
      return;
    }
    if (channel === TOKEN_REVOCATION_CHANNEL && Array.isArray(tokenIds)) {
      this.handlers.tokensRevoked({ orgId, tokenIds: tokenIds.filter((id) => typeof id === 'string') });
    }
  }
}
