import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

// `scimb_` + 32 CSPRNG bytes in base62 + a base62 CRC32 of the random part (docs/contracts.md "Tokens"):
// the prefix lets secret scanners find leaked tokens and the checksum rejects typos without a lookup.
export const TOKEN_PREFIX = 'scimb_';
/** OAuth client secrets (docs/contracts.md "Credentials"): the same shape under their own prefix. */
export const CLIENT_SECRET_PREFIX = 'scimbcs_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 43;
const CHECKSUM_CHARS = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;
const BODY = /^[0-9A-Za-z]+$/;

function base62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)]! + out;
    rest /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(random: string): string {
  return base62(BigInt(crc32(random)), CHECKSUM_CHARS);
}

/** A new plaintext token (or, with its prefix, client secret). Shown once; only its hash is stored. */
export function mintToken(prefix = TOKEN_PREFIX): string {
  const random = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), RANDOM_CHARS);
  return `${prefix}${random}${checksum(random)}`;
}

/** A random identifier (not a credential): `prefix` + 22 base62 characters (128 bits). */
export function mintIdentifier(prefix: string): string {
  return `${prefix}${base62(BigInt(`0x${randomBytes(16).toString('hex')}`), 22)}`;
}

/** Prefix, length, alphabet and checksum: rejects typos and foreign strings before any lookup. */
export function verifyTokenFormat(token: string, prefix = TOKEN_PREFIX): boolean {
  if (token.length !== prefix.length + RANDOM_CHARS + CHECKSUM_CHARS || !token.startsWith(prefix))
    return false;
  const body = token.slice(prefix.length);
  if (!BODY.test(body)) return false;
  return body.slice(RANDOM_CHARS) === checksum(body.slice(0, RANDOM_CHARS));
}

/** User-supplied tokens (a ScimTenant's existingSecretRef) must be at least this long not to be guessable. */
export const MIN_ADOPTED_TOKEN_LENGTH = 32;
/** Longer credentials are refused unhashed: the cost of a refusal stays bounded. */
export const MAX_TOKEN_LENGTH = 512;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Why a plaintext can never be a valid token of ours, or undefined: the offline check before any lookup. A minted
 * token (our prefix) must pass its checksum; an adopted one needs only the minimum length and visible ASCII, the
 * characters an Authorization header can carry.
 */
export function tokenShapeProblem(token: string): string | undefined {
  if (token.startsWith(TOKEN_PREFIX))
    return verifyTokenFormat(token) ? undefined : `a ${TOKEN_PREFIX} token whose length or checksum is wrong`;
  if (token.length < MIN_ADOPTED_TOKEN_LENGTH)
    return `shorter than ${MIN_ADOPTED_TOKEN_LENGTH} characters, so it could be guessed`;
  if (token.length > MAX_TOKEN_LENGTH) return `longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!VISIBLE_ASCII.test(token)) return 'contains characters other than visible ASCII';
  return undefined;
}

/** sha256 hex: what MongoDB stores and what the auth cache is keyed by. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** First 8 hex characters of the hash: names a token in logs and status without revealing it. */
export function tokenFingerprint(hash: string): string {
  return hash.slice(0, 8);
}
