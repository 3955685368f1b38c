import {
  detectStoreProfile,
  ensureStoreIndexes,
  STORE_PROFILE_SETTINGS,
  type StoreProfile,
  type StoreProfileSetting,
} from '@scimbridge/store';
import { ensureTenancyIndexes } from '@scimbridge/tenancy';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import type { CliIo, GlobalOptions } from './io.js';

/** Connections opened lazily per command and closed when it ends. */
export class Session {
  private connection?: Connection;
  private storeProfile?: StoreProfile;
  private redis?: Redis;

  constructor(
    private readonly options: GlobalOptions,
    private readonly env: CliIo['env'],
  ) {}

  async mongo(): Promise<Connection> {
    if (this.connection) return this.connection;
    const uri = this.options.mongodbUri ?? this.env.MONGODB_URI;
    if (!uri) throw new Error('set MONGODB_URI or pass --mongodb-uri');
    this.connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5_000 }).asPromise();
    const setting = (this.env.STORE_PROFILE ?? 'auto') as StoreProfileSetting;
    if (!STORE_PROFILE_SETTINGS.includes(setting))
      throw new Error(`STORE_PROFILE must be one of ${STORE_PROFILE_SETTINGS.join(', ')}`);
    this.storeProfile = await detectStoreProfile(this.connection, setting);
    await ensureTenancyIndexes(this.connection);
    await ensureStoreIndexes(this.connection, this.storeProfile);
    return this.connection;
  }

  /** The store profile of the server (detected with `buildInfo` unless STORE_PROFILE forces one), once connected. */
  async profile(): Promise<StoreProfile> {
    await this.mongo();
    return this.storeProfile!;
  }

  /**
   * Token and settings changes are broadcast so every api replica acts at once. Redis unreachable is not an error:
   * the change is in MongoDB, its broadcast waits in the outbox for an api replica to publish, and replicas trust
   * their caches at most 1 s while their own subscription is down.
   */
  async pubsub(): Promise<Redis> {
    if (this.redis) return this.redis;
    const url = this.options.redisUrl ?? this.env.REDIS_URL;
    if (!url)
      throw new Error('set REDIS_URL or pass --redis-url (token changes are broadcast to every api replica)');
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 2_000 });
    this.redis.on('error', () => undefined);
    await this.redis.connect().catch(() => undefined);
    return this.redis;
  }

  /** Whether the broadcast went out now, or waits in the outbox for an api replica (Redis unreachable from here). */
  broadcast(): 'published' | 'pending' {
    return this.redis?.status === 'ready' ? 'published' : 'pending';
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
    await this.connection?.close();
  }
}

/** Prints a result: `value` as one JSON line with `--json` (nothing if undefined), else the human text. */
export type Print = (value: unknown, human: string) => void;

/** Wraps a command's action with a Session (closed when the action ends) and the printer `--json` chose. */
export type Run = <A extends unknown[]>(
  action: (session: Session, print: Print, ...args: A) => Promise<void>,
) => (...args: A) => Promise<void>;

/** What a command module gets to mount itself: the root program (global options), the io and the runner. */
export interface CommandContext {
  program: Command;
  io: CliIo;
  run: Run;
}

export function commandContext(program: Command, io: CliIo): CommandContext {
  const run: Run =
    (action) =>
    async (...args) => {
      const options = program.opts<GlobalOptions>();
      const session = new Session(options, io.env);
      const json = options.json === true;
      try {
        const print: Print = (value, human) => {
          if (!json) io.out(human);
          else if (value !== undefined) io.out(JSON.stringify(value));
        };
        await action(session, print, ...args);
      } finally {
        await session.close();
      }
    };
  return { program, io, run };
}
