import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Connection, mongo } from 'mongoose';
import { isDuplicateKey } from './collections.js';

/**
 * The keys that sign SCIM security events (RFC 8417 SETs, RFC 9967 events; docs/worker.md "SCIM events"), shared
 * by every organisation: the issuer (`iss`) is the service's, and a receiver tells organisations apart by its own
 * `aud`. One document holds the whole key set, so every read and write is one document by `_id` (no index
 * besides `_id`, on MongoDB and FerretDB alike), and the set stays bounded (`MAX_KEYS`).
 *
 * The private keys are stored as JWKs in MongoDB, unencrypted: the service has no key-encryption mechanism, so
 * whoever can read this collection can sign events as the service (docs/operations.md "SCIM events").
 */
export const EVENT_SIGNING_KEYS_COLLECTION = 'event_signing_keys';
export const EVENT_SIGNING_KEY_SET_ID = 'scim-events';
export const EVENT_SIGNING_ALG = 'ES256';
/** Keys kept at most (the active one, the next one, and retired ones still published for verification). */
export const MAX_KEYS = 8;

export interface EventSigningKey {
  kid: string;
  alg: typeof EVENT_SIGNING_ALG;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: Date;
  /** Signing starts at this instant; a rotated-in key is published (JWKS) before it signs. */
  activeFrom: Date;
  /** Published for verification until then; null: while it is the newest key. */
  verifyUntil: Date | null;
}

export interface EventSigningKeySetDocument {
  _id: string;
  keys: EventSigningKey[];
  /** Moved on by every write; a rotation is conditioned on the version it read. */
  version: number;
  updatedAt: Date;
}

export type EventSigningKeyCollection = mongo.Collection<EventSigningKeySetDocument>;

export function eventSigningKeyCollection(connection: Connection): EventSigningKeyCollection {
  return connection.collection<EventSigningKeySetDocument>(EVENT_SIGNING_KEYS_COLLECTION);
}

async function newKey(activeFrom: Date): Promise<EventSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(EVENT_SIGNING_ALG, { extractable: true });
  const kid = randomUUID();
  const now = new Date();
  return {
    kid,
    alg: EVENT_SIGNING_ALG,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: EVENT_SIGNING_ALG, use: 'sig' },
    privateJwk: await exportJWK(privateKey),
    createdAt: now,
    activeFrom,
    verifyUntil: null,
  };
}

/**
 * The key set, created with one key (active at once) on first use. Two processes creating it together insert
 * the same `_id`: one wins, the other reads the winner's.
 */
export async function loadEventSigningKeys(
  collection: EventSigningKeyCollection,
): Promise<EventSigningKeySetDocument> {
  const found = await collection.findOne({ _id: EVENT_SIGNING_KEY_SET_ID });
  if (found) return found;
  const created: EventSigningKeySetDocument = {
    _id: EVENT_SIGNING_KEY_SET_ID,
    keys: [await newKey(new Date())],
    version: 1,
    updatedAt: new Date(),
  };
  try {
    await collection.insertOne(created);
    return created;
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    const winner = await collection.findOne({ _id: EVENT_SIGNING_KEY_SET_ID });
    if (!winner) throw error;
    return winner;
  }
}

/** The key that signs at `now`: the newest whose `activeFrom` has come. */
export function activeSigningKey(set: EventSigningKeySetDocument, now = new Date()): EventSigningKey {
  const active = set.keys
    .filter((key) => key.activeFrom.getTime() <= now.getTime())
    .sort((a, b) => b.activeFrom.getTime() - a.activeFrom.getTime() || (a.kid < b.kid ? 1 : -1))[0];
  if (!active) throw new Error('no active event signing key');
  return active;
}

/** What the JWKS publishes at `now`: every key not past `verifyUntil`, public parts only. */
export function publishedKeys(set: EventSigningKeySetDocument, now = new Date()): JWK[] {
  return set.keys
    .filter((key) => key.verifyUntil === null || key.verifyUntil.getTime() > now.getTime())
    .map((key) => key.publicJwk);
}

export interface RotationOptions {
  /**
   * How long the new key is published before it signs, so receivers and the api's JWKS cache know it by then
   * (default 300 s).
   */
  publishBeforeSeconds?: number;
  /** How long the keys it replaces stay published after the new one starts signing (default 7 days). */
  graceSeconds?: number;
  now?: Date;
}

/**
 * Adds a new key that signs from `now + publishBeforeSeconds`; the keys before it are published until that
 * instant plus the grace period, then dropped. Conditioned on the version read (three tries), so two rotations
 * at once add one key each or fail, never lose one.
 */
export async function rotateEventSigningKey(
  collection: EventSigningKeyCollection,
  options: RotationOptions = {},
): Promise<EventSigningKey> {
  const now = options.now ?? new Date();
  const activeFrom = new Date(now.getTime() + (options.publishBeforeSeconds ?? 300) * 1000);
  const verifyUntil = new Date(activeFrom.getTime() + (options.graceSeconds ?? 7 * 86_400) * 1000);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const set = await loadEventSigningKeys(collection);
    const key = await newKey(activeFrom);
    const kept = set.keys
      .filter((k) => k.verifyUntil === null || k.verifyUntil.getTime() > now.getTime())
      .map((k) => ({
        ...k,
        verifyUntil:
          k.verifyUntil === null || k.verifyUntil.getTime() > verifyUntil.getTime()
            ? verifyUntil
            : k.verifyUntil,
      }))
      .sort((a, b) => b.activeFrom.getTime() - a.activeFrom.getTime())
      .slice(0, MAX_KEYS - 1);
    const result = await collection.updateOne(
      { _id: EVENT_SIGNING_KEY_SET_ID, version: set.version },
      { $set: { keys: [key, ...kept], version: set.version + 1, updatedAt: now } },
    );
    if (result.modifiedCount === 1) return key;
  }
  throw new Error('the event signing keys changed during the rotation; try again');
}

/**
 * The key set as one process sees it: read at most once per `cacheMs`, concurrent callers sharing one read.
 * `sign` makes the compact SET (`typ: secevent+jwt`, `kid` of the active key); `jwks` is what the api publishes.
 */
export class EventSigningKeys {
  private cached: { at: number; set: EventSigningKeySetDocument } | undefined;
  private loading: Promise<EventSigningKeySetDocument> | undefined;
  private readonly imported = new Map<string, ReturnType<typeof importJWK>>();

  constructor(
    private readonly collection: EventSigningKeyCollection,
    private readonly cacheMs = 30_000,
  ) {}

  async keySet(): Promise<EventSigningKeySetDocument> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.set;
    this.loading ??= loadEventSigningKeys(this.collection)
      .then((set) => {
        this.cached = { at: Date.now(), set };
        return set;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: publishedKeys(await this.keySet()) };
  }

  async sign(claims: JWTPayload): Promise<string> {
    const key = activeSigningKey(await this.keySet());
    let privateKey = this.imported.get(key.kid);
    if (!privateKey) {
      privateKey = importJWK(key.privateJwk, key.alg);
      this.imported.set(key.kid, privateKey);
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'secevent+jwt' })
      .sign(await privateKey);
  }
}
