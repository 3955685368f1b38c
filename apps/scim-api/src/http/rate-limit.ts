import type { Redis } from 'ioredis';

// A token bucket per organisation, refilled continuously; one atomic script per request (Redis' own clock,
// so replicas agree). IdPs share IP ranges, so the key is the organisation, never the client address.
const TOKEN_BUCKET = `
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return { allowed, wait }
`;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface RateLimitRedis extends Redis {
  scimTokenBucket(key: string, rate: number, burst: number): Promise<[number, number]>;
}

export class OrganisationRateLimiter {
  private readonly redis: RateLimitRedis;

  constructor(redis: Redis) {
    redis.defineCommand('scimTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    this.redis = redis as RateLimitRedis;
  }

  /** Redis unreachable → allowed: a rate-limit outage must not stop provisioning. */
  async take(orgId: string, requestsPerSecond: number, burst: number): Promise<RateDecision> {
    try {
      const [allowed, waitMs] = await this.redis.scimTokenBucket(
        `scimbridge:ratelimit:${orgId}`,
        requestsPerSecond,
        burst,
      );
      if (allowed === 1) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    } catch {
      return { allowed: true };
    }
  }
}
