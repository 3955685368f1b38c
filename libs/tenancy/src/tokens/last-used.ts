import type { Connection } from 'mongoose';
import { tenancyCollections } from '../collections.js';

/**
 * Keeps `lastUsedAt` without a write per request: uses are remembered in memory and flushed at most once per
 * interval per token (docs/contracts.md "Tokens").
 */
export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connection: Connection,
    intervalMs = 60_000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  record(tokenId: string, at = new Date()): void {
    this.pending.set(tokenId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await tenancyCollections(this.connection).tokens.bulkWrite(
      [...batch].map(([tokenId, at]) => ({
        updateOne: { filter: { _id: tokenId }, update: { $set: { lastUsedAt: at } } },
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
