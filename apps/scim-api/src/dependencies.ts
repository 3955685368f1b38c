import type { ReadinessCheck } from '@scimbridge/telemetry';
import type { Redis } from 'ioredis';
import type { ConnectOptions, Connection } from 'mongoose';

/**
 * Bounded waits while MongoDB is unreachable: a request fails over to `503` + `Retry-After` within seconds
 * (server selection), never waits past an IdP's timeout, and mongoose does not buffer commands meanwhile.
 */
export const API_MONGO_OPTIONS = {
  serverSelectionTimeoutMS: 3_000,
  socketTimeoutMS: 20_000,
  bufferCommands: false,
  monitorCommands: true,
} satisfies ConnectOptions;

/**
 * Ready means SCIM requests can succeed: that needs MongoDB only. Without Redis, rate limits, the user-limit lock and
 * job enqueueing fail open and revocations rest on the 1 s cache bound, so Redis down is `degraded`, not NotReady.
 */
export function apiReadiness(connection: Connection, redis: Redis): ReadinessCheck[] {
  return [
    { name: 'mongodb', check: async () => (await connection.db!.admin().ping()).ok === 1 },
    { name: 'redis', required: false, check: async () => (await redis.ping()) === 'PONG' },
  ];
}
