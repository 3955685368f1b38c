import { ScimError } from '@scimbridge/scim-core';
import type { Redis } from 'ioredis';
import { Mutex, TimeoutError } from 'redis-semaphore';
import type { KeyedLock } from '../http/keyed-lock.js';

export interface UserLimitLockOptions {
  /** How long a create waits for another create of the organisation to finish its check and write. */
  acquireTimeoutMs?: number;
  /** A holder that died releases the lock after this long (refreshed while held). */
  lockTimeoutMs?: number;
  warn: (details: Record<string, unknown>, message: string) => void;
}

/**
 * Serialises the "count active users, then write" of creates per organisation across every api replica, so
 * parallel creates (Okta and Entra provision several users at once, through any replica) cannot together pass
 * a plan's user limit. In-process first (a KeyedLock), then a Redis mutex (redis-semaphore: SET NX PX with
 * refresh). Only organisations with a limit take it. Redis unreachable → the create goes on under the
 * in-process lock alone (a Redis outage must not stop provisioning; the limit then holds per replica).
 */
export class UserLimitLock {
  private readonly acquireTimeoutMs: number;
  private readonly lockTimeoutMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly locks: KeyedLock,
    private readonly options: UserLimitLockOptions,
  ) {
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  run<T>(orgId: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(`${orgId}:user-limit`, async () => {
      const mutex = new Mutex(this.redis, `scimbridge:user-limit:${orgId}`, {
        acquireTimeout: this.acquireTimeoutMs,
        lockTimeout: this.lockTimeoutMs,
        retryInterval: 10,
        onLockLost: (error) =>
          this.options.warn({ orgId, err: error.message }, 'user-limit lock lost while held'),
      });
      let held = false;
      try {
        await mutex.acquire();
        held = true;
      } catch (error) {
        if (error instanceof TimeoutError)
          throw new ScimError(
            503,
            'Another create for this organisation is still checking the plan user limit; retry shortly.',
          );
        this.options.warn(
          { orgId, err: error instanceof Error ? error.message : String(error) },
          'user-limit lock unavailable (Redis); limit enforced per replica only',
        );
      }
      try {
        return await work();
      } finally {
        if (held) await mutex.release().catch(() => undefined);
      }
    });
  }
}
