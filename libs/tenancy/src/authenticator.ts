import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { TokenRevocationSubscriber } from './broadcast.js';
import { getOrganisation, type Organisation } from './organisations.js';
import { hashToken } from './tokens/format.js';
import { LastUsedRecorder } from './tokens/last-used.js';
import { findTokenByHash } from './tokens/records.js';

export type AuthenticationResult =
  | { ok: true; orgId: string; tokenId: string; organisation: Organisation | null }
  | { ok: false; reason: 'unknown-token' };

export interface TokenAuthenticatorOptions {
  /** Backstop only: revocations arrive by broadcast. Default 30 s. */
  tokenTtlMs?: number;
  /** Settings changes also arrive by broadcast. Default 5 s. */
  organisationTtlMs?: number;
  lastUsedFlushMs?: number;
}

interface Cached<T> {
  value: T;
  expires: number;
}

/**
 * Bearer token → organisation, cached briefly per replica. A token revoked anywhere is dropped from this
 * cache as soon as the broadcast arrives; after a lost subscription the whole cache is dropped.
 */
export class TokenAuthenticator {
  private readonly tokens = new Map<string, Cached<{ orgId: string; tokenId: string }>>();
  private readonly organisations = new Map<string, Cached<Organisation | null>>();
  private readonly subscriber: TokenRevocationSubscriber;
  private readonly lastUsed: LastUsedRecorder;
  private readonly tokenTtlMs: number;
  private readonly organisationTtlMs: number;

  constructor(
    private readonly connection: Connection,
    redis: Redis,
    options: TokenAuthenticatorOptions = {},
  ) {
    this.tokenTtlMs = options.tokenTtlMs ?? 30_000;
    this.organisationTtlMs = options.organisationTtlMs ?? 5_000;
    this.lastUsed = new LastUsedRecorder(connection, options.lastUsedFlushMs);
    this.subscriber = new TokenRevocationSubscriber(redis, {
      tokensRevoked: ({ tokenIds }) => this.forgetTokens(new Set(tokenIds)),
      organisationChanged: (orgId) => this.organisations.delete(orgId),
      resubscribed: () => {
        this.tokens.clear();
        this.organisations.clear();
      },
    });
  }

  /** Subscribes to revocations; call before serving requests. */
  async start(): Promise<void> {
    await this.subscriber.start();
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.lastUsed.close();
  }

  async authenticate(plaintext: string): Promise<AuthenticationResult> {
    const hash = hashToken(plaintext);
    const now = Date.now();
    let entry = this.tokens.get(hash);
    if (!entry || entry.expires <= now) {
      const record = await findTokenByHash(this.connection, hash);
      if (!record) {
        this.tokens.delete(hash);
        return { ok: false, reason: 'unknown-token' };
      }
      entry = { value: { orgId: record.orgId, tokenId: record.tokenId }, expires: now + this.tokenTtlMs };
      this.tokens.set(hash, entry);
    }
    const { orgId, tokenId } = entry.value;
    this.lastUsed.record(tokenId);
    return { ok: true, orgId, tokenId, organisation: await this.organisation(orgId) };
  }

  /** The organisation's settings as this replica currently sees them. */
  async organisation(orgId: string): Promise<Organisation | null> {
    const now = Date.now();
    const cached = this.organisations.get(orgId);
    if (cached && cached.expires > now) return cached.value;
    const organisation = await getOrganisation(this.connection, orgId);
    this.organisations.set(orgId, { value: organisation, expires: now + this.organisationTtlMs });
    return organisation;
  }

  private forgetTokens(tokenIds: Set<string>): void {
    for (const [hash, entry] of this.tokens) {
      if (tokenIds.has(entry.value.tokenId)) this.tokens.delete(hash);
    }
  }
}
