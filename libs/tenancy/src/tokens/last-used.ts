import type { Connection } from 'mongoose';
import { tenancyCollections } from '../collections.js';

/** A used token, as the flush's filter needs it. */
export interface TokenUse {
  tokenId: string;
  hash: string;
}

/**
 * The filter of a token's `lastUsedAt` write. The api passes the store profile's (`credentialById`, libs/store
 * profile.ts: `{hash, _id}` on MongoDB, targeted on the tokens' shard key `{hash: 1}`; `{_id}` on FerretDB v1);
 * the default is `_id` alone.
 */
export type LastUsedFilter = (token: TokenUse) => Record<string, unknown>;

/**
 * Keeps `lastUsedAt` without a write per request: uses are remembered in memory and flushed at most once per
 * interval per token (docs/contracts.md "Tokens").
 */
export class LastUsedRecorder {
  private pending = new Map<string, { hash: string; at: Date }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connection: Connection,
    intervalMs = 60_000,
    private readonly filter: LastUsedFilter = ({ tokenId }) => ({ _id: tokenId }),
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  record(tokenId: string, hash: string, at = new Date()): void {
    this.pending.set(tokenId, { hash, at });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await tenancyCollections(this.connection).tokens.bulkWrite(
      [...batch].map(([tokenId, { hash, at }]) => ({
        updateOne: { filter: this.filter({ tokenId, hash }), update: { $set: { lastUsedAt: at } } },
      })),
      { ordered: false },
    );
  }

  /** A last flush; lastUsedAt is informational, so a database outage at shutdown only loses these stamps. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }
}
