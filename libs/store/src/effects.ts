import type { Connection, mongo } from 'mongoose';
import { isDuplicateKey, storeCollections } from './collections.js';
import type { AppliedEffectDocument } from './documents.js';
import { documentById, FERRETDB_PROFILE, type StoreProfile } from './profile.js';

/**
 * Side effects derived from an event run once per event, whatever re-sends the job: the relay after BullMQ
 * evicted the completed job id, an operator's re-drive, a replay of every event. The record is written after the
 * effect, so a worker killed between the two repeats the effect of that one event once (each effect is itself
 * idempotent: a keyed insert, fields set to the same values); after the record, nothing repeats it.
 */
export class EffectLedger {
  private readonly collection: mongo.Collection<AppliedEffectDocument>;

  constructor(
    connection: Connection,
    private readonly profile: StoreProfile = FERRETDB_PROFILE,
  ) {
    this.collection = storeCollections(connection).appliedEffects;
  }

  /** Whether the effect ran for this event of the organisation (the record is the event's organisation's). */
  async applied(orgId: string, effect: string, eventId: string): Promise<boolean> {
    return (
      (await this.collection.findOne(
        documentById(this.profile, orgId, `${effect}:${eventId}`) as mongo.Filter<AppliedEffectDocument>,
        { projection: { _id: 1 } },
      )) !== null
    );
  }

  async record(orgId: string, effect: string, eventId: string): Promise<void> {
    try {
      await this.collection.insertOne({
        _id: `${effect}:${eventId}`,
        orgId,
        effect,
        eventId,
        at: new Date(),
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }

  /**
   * Runs `effect` unless it already ran for this event, and records it when it returns (a skipped effect, e.g. a
   * group that does not exist, stays skipped: the event is history). A throw records nothing: the job retries.
   */
  async once<T>(
    orgId: string,
    effect: string,
    eventId: string,
    run: () => Promise<T>,
    skippedAs: T,
  ): Promise<T> {
    if (await this.applied(orgId, effect, eventId)) return skippedAs;
    const result = await run();
    await this.record(orgId, effect, eventId);
    return result;
  }
}
