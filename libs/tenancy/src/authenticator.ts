import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Connection } from 'mongoose';
import { TokenRevocationSubscriber } from './broadcast.js';
import type { AccessGrant, TokenKind } from './collections.js';
import { getOrganisation, type Organisation } from './organisations.js';
import { hashToken, tokenFingerprint, tokenShapeProblem } from './tokens/format.js';
import { LastUsedRecorder, type LastUsedFilter } from './tokens/last-used.js';
import { findTokenByHash } from './tokens/records.js';

/**
 * Why a bearer token was refused: `malformed-token` and `recently-refused` are decided offline (no database
 * work), `lookup-refused` when the caller's gate (e.g. a per-address failure limit) denied the lookup.
 */
export type AuthenticationRefusal =
  | 'malformed-token'
  | 'recently-refused'
  | 'lookup-refused'
  | 'unknown-token'
  | 'expired-token'
  /** A bearer token of the organisation that was revoked, or regenerated (`replaced`), at `revokedAt`. */
  | 'revoked-token';

/** What authenticated the request: the organisation's bearer token, or an access token and how it was obtained. */
export interface CredentialInfo {
  kind: TokenKind;
  grant: AccessGrant | null;
  clientId: string | null;
  /** Refused from this instant on (an access token's expiry, a rotated-away token's grace); null: until revoked. */
  validUntil: Date | null;
  /** A revoked bearer token kept for attribution: when, and whether a new one replaced it (regenerated). */
  revokedAt: Date | null;
  replaced: boolean;
}

export type AuthenticationResult =
  | {
      ok: true;
      orgId: string;
      tokenId: string;
      credential: CredentialInfo;
      organisation: Organisation | null;
      /** The token's fingerprint (tokenFingerprint of its hash), naming it in logs without revealing it. */
      fingerprint: string;
    }
  /**
   * `orgId` (and the stored token's `credential`) when the token was the organisation's (an expired, revoked or
   * regenerated one), so the refusal is attributed to it; `fingerprint` once the token was hashed.
   */
  | {
      ok: false;
      reason: AuthenticationRefusal;
      orgId?: string;
      fingerprint?: string;
      credential?: CredentialInfo;
    };

export interface AuthenticateOptions {
  /** Asked only before a database lookup (never for a cached or offline answer); false refuses the token. */
  mayLookUp?: () => Promise<boolean>;
}

export interface TokenAuthenticatorOptions {
  /** Backstop only while the broadcast subscription is up: revocations arrive by broadcast. Default 30 s. */
  tokenTtlMs?: number;
  /** Settings changes also arrive by broadcast. Default 5 s. */
  organisationTtlMs?: number;
  /** How long cached answers are trusted while the subscription is down (docs/contracts.md "Tokens"). Default 1 s. */
  unsubscribedTtlMs?: number;
  /** How long an unknown token is refused without a lookup. Default 10 s. */
  refusedTtlMs?: number;
  /** Bounds on the caches (entries), so a flood of distinct tokens cannot grow memory. Default 10,000 each. */
  maxCachedTokens?: number;
  maxRefusedTokens?: number;
  lastUsedFlushMs?: number;
  /** The filter of the `lastUsedAt` flush (the api's comes from its store profile); default `_id` alone. */
  lastUsedFilter?: LastUsedFilter;
  /** How long start() waits for the subscription before serving without it. Default 1 s. */
  subscribeWaitMs?: number;
}

interface Cached<T> {
  value: T;
  fetchedAt: number;
}

/**
 * Bearer or access token → organisation, cached briefly per replica. MongoDB is the source of truth: a revocation broadcast
 * drops the token at once, and while this replica's subscription is down no cached answer is trusted longer than
 * `unsubscribedTtlMs`. A generation counter, bumped by every revocation and subscription change, keeps a lookup
 * that was in flight during a revocation from putting the revoked token back into the cache.
 */
export class TokenAuthenticator {
  private readonly tokens: LRUCache<
    string,
    Cached<{ orgId: string; tokenId: string; fingerprint: string; credential: CredentialInfo }>
  >;
  private readonly refused: LRUCache<string, true>;
  private readonly organisations = new Map<string, Cached<Organisation | null>>();
  private readonly subscriber: TokenRevocationSubscriber;
  private readonly lastUsed: LastUsedRecorder;
  private readonly tokenTtlMs: number;
  private readonly organisationTtlMs: number;
  private readonly unsubscribedTtlMs: number;
  private readonly subscribeWaitMs: number;
  private generation = 0;

  constructor(
    private readonly connection: Connection,
    redis: Redis,
    options: TokenAuthenticatorOptions = {},
  ) {
    this.tokenTtlMs = options.tokenTtlMs ?? 30_000;
    this.organisationTtlMs = options.organisationTtlMs ?? 5_000;
    this.unsubscribedTtlMs = options.unsubscribedTtlMs ?? 1_000;
    this.subscribeWaitMs = options.subscribeWaitMs ?? 1_000;
    this.tokens = new LRUCache({ max: options.maxCachedTokens ?? 10_000 });
    this.refused = new LRUCache({
      max: options.maxRefusedTokens ?? 10_000,
      ttl: options.refusedTtlMs ?? 10_000,
    });
    this.lastUsed = new LastUsedRecorder(connection, options.lastUsedFlushMs, options.lastUsedFilter);
    this.subscriber = new TokenRevocationSubscriber(redis, {
      tokensRevoked: ({ tokenIds }) => this.forgetTokens(new Set(tokenIds)),
      organisationChanged: (orgId) => {
        this.generation += 1;
        this.organisations.delete(orgId);
      },
      resubscribed: () => this.forgetAll(),
      unsubscribed: () => this.forgetAll(),
    });
  }

  /**
   * Subscribes to revocations, waiting at most `subscribeWaitMs`: without Redis the replica serves anyway (its
   * cache then trusted ≤ `unsubscribedTtlMs`) and subscribes when Redis comes back.
   */
  async start(): Promise<void> {
    await this.subscriber.start(this.subscribeWaitMs);
  }

  /** Whether revocations reach this replica by broadcast now (else the short cache bound applies). */
  subscribed(): boolean {
    return this.subscriber.isSubscribed();
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.lastUsed.close();
  }

  async authenticate(plaintext: string, options: AuthenticateOptions = {}): Promise<AuthenticationResult> {
    if (tokenShapeProblem(plaintext)) return { ok: false, reason: 'malformed-token' };
    const hash = hashToken(plaintext);
    // The fingerprint of a refused token names it in the audit without a second hash (tokenFingerprint slices).
    if (this.refused.has(hash))
      return { ok: false, reason: 'recently-refused', fingerprint: tokenFingerprint(hash) };
    let entry = this.tokens.get(hash);
    if (!entry || !this.fresh(entry, this.tokenTtlMs)) {
      if (options.mayLookUp && !(await options.mayLookUp()))
        return { ok: false, reason: 'lookup-refused', fingerprint: tokenFingerprint(hash) };
      const generation = this.generation;
      const fetchedAt = Date.now();
      const record = await findTokenByHash(this.connection, hash);
      if (!record) {
        this.tokens.delete(hash);
        this.refused.set(hash, true);
        return { ok: false, reason: 'unknown-token', fingerprint: tokenFingerprint(hash) };
      }
      const credential: CredentialInfo = {
        kind: record.kind,
        grant: record.grant,
        clientId: record.clientId,
        validUntil: record.validUntil,
        revokedAt: record.revokedAt,
        replaced: record.replaced,
      };
      entry = {
        value: { orgId: record.orgId, tokenId: record.tokenId, fingerprint: record.fingerprint, credential },
        fetchedAt,
      };
      // A revocation seen while the lookup ran may name this token: answer this request, cache nothing.
      if (generation === this.generation) this.tokens.set(hash, entry);
    }
    const { orgId, tokenId, fingerprint, credential } = entry.value;
    if (credential.revokedAt) return { ok: false, reason: 'revoked-token', orgId, fingerprint, credential };
    // Checked on every request, cached or not: an access token or a grace period ends at the same instant on
    // every replica, without a broadcast.
    if (credential.validUntil && credential.validUntil.getTime() <= Date.now())
      return { ok: false, reason: 'expired-token', orgId, fingerprint, credential };
    this.lastUsed.record(tokenId, hash);
    return {
      ok: true,
      orgId,
      tokenId,
      fingerprint,
      credential,
      organisation: await this.organisation(orgId),
    };
  }

  /** The organisation's settings as this replica currently sees them. */
  async organisation(orgId: string): Promise<Organisation | null> {
    const cached = this.organisations.get(orgId);
    if (cached && this.fresh(cached, this.organisationTtlMs)) return cached.value;
    const generation = this.generation;
    const fetchedAt = Date.now();
    const organisation = await getOrganisation(this.connection, orgId);
    if (generation === this.generation) this.organisations.set(orgId, { value: organisation, fetchedAt });
    return organisation;
  }

  private fresh(entry: Cached<unknown>, ttlMs: number): boolean {
    const bound = this.subscriber.isSubscribed() ? ttlMs : Math.min(ttlMs, this.unsubscribedTtlMs);
    return Date.now() - entry.fetchedAt < bound;
  }

  private forgetTokens(tokenIds: Set<string>): void {
    this.generation += 1;
    for (const [hash, entry] of this.tokens.entries()) {
      if (tokenIds.has(entry.value.tokenId)) this.tokens.delete(hash);
    }
    // A replaced token set may include a plaintext refused a moment ago (an adopted token the IdP tried first).
    this.refused.clear();
  }

  private forgetAll(): void {
    this.generation += 1;
    this.tokens.clear();
    this.organisations.clear();
    this.refused.clear();
  }
}
