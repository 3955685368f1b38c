import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

export interface AddressLimitOptions {
  /** Failed token lookups one client address may cause per window before further lookups are refused. */
  failures: number;
  windowSeconds: number;
}

export const DEFAULT_ADDRESS_LIMIT: AddressLimitOptions = { failures: 20, windowSeconds: 60 };

export type AddressDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts failed authentications (unknown tokens that cost a lookup) per client address, across replicas in Redis
 * and in-process while Redis is down. Only failures count: IdPs share address ranges, so a client that
 * authenticates is never limited by address (the per-organisation limit applies after authentication).
 */
export class FailedAuthenticationLimiter {
  private readonly limiter: RateLimiterRedis;
  private readonly failures: number;

  constructor(redis: Redis, options: AddressLimitOptions = DEFAULT_ADDRESS_LIMIT) {
    this.failures = options.failures;
    const window = { points: options.failures, duration: options.windowSeconds };
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'scimbridge:authfail',
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ ...window, keyPrefix: 'scimbridge:authfail' }),
      ...window,
    });
  }

  /** Whether this address may still cause a token lookup. */
  async check(address: string): Promise<AddressDecision> {
    const state = await this.limiter.get(address).catch(() => null);
    if (!state || state.consumedPoints < this.failures) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(state.msBeforeNext / 1000)) };
  }

  /** Records a failed lookup; never throws (limits fail open). */
  async failed(address: string): Promise<void> {
    await this.limiter.penalty(address, 1).catch(() => undefined);
  }
}
