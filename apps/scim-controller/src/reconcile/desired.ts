import {
  parseOrganisationSettings,
  tokenEndpointUrl,
  type OAuthClientRecord,
  type OrganisationSettings,
  type RequestSummary,
  type TokenRecord,
} from '@scimbridge/tenancy';
import { requestsStatus } from './requests-status.js';
import {
  ANNOTATION_ROTATION,
  ANNOTATION_TENANT_UID,
  CLIENT_ID_KEY,
  FIELD_MANAGER,
  LABEL_MANAGED_BY,
  LABEL_TENANT,
  LABEL_USE,
  TOKEN_ENDPOINT_PATH,
  type OAuthStatus,
  type SecretUse,
  type ScimTenant,
  type ScimTenantStatus,
} from '../api/scim-tenant.js';
import { setCondition, type ConditionInput } from './conditions.js';

/** The reconcile's pure core: observed state in, decisions and status out (STYLE.md: read → compute → apply). */

export interface SecretSnapshot {
  name: string;
  exists: boolean;
  /** The token value at the expected key, decoded. */
  token?: string;
  /** Every key's value, decoded (only for a Secret whose values may be read at all). */
  values?: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerUids: string[];
}

export const tokenSecretKey = (tenant: ScimTenant): string =>
  tenant.spec.token?.existingSecretRef?.key ?? 'token';

/**
 * The organisation settings a tenant's spec asks for; webhook secrets and event stream authorizations resolved by
 * the caller. Defaults are
 * tenancy's (the schema `scimctl apply` parses with too), so one spec gives the same settings either way.
 */
export function desiredSettings(
  tenant: ScimTenant,
  webhookSecrets: ReadonlyMap<string, string>,
  /** Event stream name → its Authorization header value, from the stream's authorizationSecretRef. */
  eventStreamAuthorizations: ReadonlyMap<string, string> = new Map(),
): OrganisationSettings {
  const {
    organisationId: _id,
    adoptExistingOrganisation: _adopt,
    token: _token,
    authentication,
    audit,
    ...settings
  } = tenant.spec;
  // The client Secret's fields are the controller's, not settings: dropped here, not left to the schema's
  // stripping, so the stored settings equal those `scimctl apply` stores for the same spec.
  const {
    secretName: _secretName,
    rotation: _rotation,
    previousSecretValidForSeconds: _grace,
    ...clientCredentials
  } = authentication?.clientCredentials ?? {};
  return parseOrganisationSettings({
    ...settings,
    authentication: {
      ...(authentication?.bearerToken ? { bearerToken: authentication.bearerToken } : {}),
      clientCredentials,
      federation: authentication?.federation ?? null,
    },
    audit: {
      webhooks: (audit?.webhooks ?? []).map((w) => ({
        name: w.name,
        url: w.url,
        secret: webhookSecrets.get(w.name) ?? '',
      })),
      eventStreams: (audit?.eventStreams ?? []).map((stream) => ({
        name: stream.name,
        url: stream.url,
        audience: stream.audience,
        authorization: eventStreamAuthorizations.get(stream.name) ?? null,
      })),
    },
  });
}

export type TokenPlan =
  | { kind: 'keep'; record: TokenRecord; writeSecret: boolean }
  | { kind: 'issue'; reason: 'TokenSecretMissing' | 'RotationRequested' | 'TokenNotRecognised' }
  | { kind: 'adopt'; token: string; writeSecret: boolean }
  | { kind: 'revoke'; deleteSecret: boolean }
  | { kind: 'blocked'; reason: string; message: string };

export interface TokenObservation {
  tenant: ScimTenant;
  secret: SecretSnapshot;
  tokens: readonly TokenRecord[];
  hashToken(token: string): string;
  tokenProblem(token: string): string | undefined;
}

type GeneratedUse = 'generated-token' | 'generated-client';

/**
 * Whether a Secret is a generated Secret of this tenant (labelled by us, for this tenant name, for this use: the
 * token Secret or the OAuth client Secret), or written for this very tenant.
 */
export function isManagedSecret(
  tenant: ScimTenant,
  secret: SecretSnapshot,
  use: GeneratedUse = 'generated-token',
): boolean {
  if (hasOurLabels(tenant, secret, use)) return true;
  // Written for this tenant, but for the other use (both names set to one Secret): not this one's.
  const other = secret.labels[LABEL_USE];
  if ((other === 'generated-token' || other === 'generated-client') && other !== use) return false;
  return writtenForThisTenant(tenant, secret);
}

function hasOurLabels(
  tenant: ScimTenant,
  secret: SecretSnapshot,
  use: GeneratedUse = 'generated-token',
): boolean {
  return (
    secret.labels[LABEL_MANAGED_BY] === FIELD_MANAGER &&
    secret.labels[LABEL_TENANT] === tenant.metadata.name &&
    secret.labels[LABEL_USE] === use
  );
}

/** Written for this very resource (not a deleted one of the same name): by its uid annotation or ownerReference. */
function writtenForThisTenant(tenant: ScimTenant, secret: SecretSnapshot): boolean {
  const uid = tenant.metadata.uid ?? '';
  return secret.annotations[ANNOTATION_TENANT_UID] === uid || secret.ownerUids.includes(uid);
}

/**
 * Whether the generated Secret carries a (blocking) ownerReference to the tenant. Only with deletionPolicy
 * Delete: under Retain any ownerReference lets the garbage collector delete the Secret before the finalizer
 * runs (`kubectl delete --cascade=foreground` deletes dependents first), so a Retain Secret has none.
 */
export const secretOwnedByTenant = (tenant: ScimTenant): boolean =>
  (tenant.spec.token?.deletionPolicy ?? 'Retain') === 'Delete';

/** A user-supplied Secret may be read only if it opted in for this use; the same answer whether or not it exists. */
export function optedIn(secret: SecretSnapshot, use: SecretUse): boolean {
  return secret.exists && secret.labels[LABEL_USE] === use;
}

export const notOptedInMessage = (field: string, name: string, use: SecretUse): string =>
  `${field} names Secret ${name}: a Secret is used only if it is in this namespace and labelled ${LABEL_USE}=${use} (whether it exists is not reported)`;

/** Decides what to do about the organisation's token; level-based, so it works from any starting state. */
export function planToken(o: TokenObservation): TokenPlan {
  const { tenant, secret, tokens } = o;
  const userRef = tenant.spec.token?.existingSecretRef;

  if (tenant.spec.token?.revoked) {
    return { kind: 'revoke', deleteSecret: !userRef && secret.exists && isManagedSecret(tenant, secret) };
  }

  if (userRef) {
    if (!optedIn(secret, 'token'))
      return {
        kind: 'blocked',
        reason: 'SecretNotOptedIn',
        message: notOptedInMessage('spec.token.existingSecretRef', userRef.name, 'token'),
      };
    if (!secret.token)
      return {
        kind: 'blocked',
        reason: 'TokenSecretKeyMissing',
        message: `Secret ${userRef.name} has no key ${tokenSecretKey(tenant)} (set spec.token.existingSecretRef.key)`,
      };
    const problem = o.tokenProblem(secret.token);
    if (problem)
      return {
        kind: 'blocked',
        reason: 'InvalidToken',
        message: `the token in Secret ${userRef.name} key ${tokenSecretKey(tenant)} is not acceptable: ${problem}`,
      };
    const record = onlyValid(tokens, o.hashToken(secret.token));
    return record
      ? { kind: 'keep', record, writeSecret: false }
      : { kind: 'adopt', token: secret.token, writeSecret: false };
  }

  if (secret.exists && !isManagedSecret(tenant, secret))
    return {
      kind: 'blocked',
      reason: 'TokenSecretConflict',
      message: `Secret ${secret.name} exists and is not managed by scim-controller for this ScimTenant; choose another spec.token.secretName`,
    };
  if (!secret.exists || !secret.token) return { kind: 'issue', reason: 'TokenSecretMissing' };

  const ownedByThisTenant = writtenForThisTenant(tenant, secret);
  const rotation = tenant.spec.token?.rotation ?? 0;
  // A Secret retained from a deleted ScimTenant of the same name keeps its token (deletionPolicy: Retain).
  if (ownedByThisTenant && secret.annotations[ANNOTATION_ROTATION] !== String(rotation))
    return { kind: 'issue', reason: 'RotationRequested' };
  const hash = o.hashToken(secret.token);
  if (!tokens.some((t) => t.hash === hash)) return { kind: 'issue', reason: 'TokenNotRecognised' };
  const record = onlyValid(tokens, hash);
  // Re-apply when labels, owner or annotations drifted (e.g. someone edited the Secret's metadata, or the
  // deletionPolicy changed and with it the ownerReference).
  const writeSecret = metadataDrifted(tenant, secret, 'generated-token', rotation);
  return record ? { kind: 'keep', record, writeSecret } : { kind: 'adopt', token: secret.token, writeSecret };
}

/** Labels, owner or annotations of a generated Secret differ from what the controller writes. */
function metadataDrifted(
  tenant: ScimTenant,
  secret: SecretSnapshot,
  use: GeneratedUse,
  rotation: number,
): boolean {
  return (
    !writtenForThisTenant(tenant, secret) ||
    !hasOurLabels(tenant, secret, use) ||
    secret.annotations[ANNOTATION_TENANT_UID] !== tenant.metadata.uid ||
    secret.ownerUids.includes(tenant.metadata.uid ?? '') !== secretOwnedByTenant(tenant) ||
    secret.ownerUids.some((uid) => uid !== tenant.metadata.uid) ||
    secret.annotations[ANNOTATION_ROTATION] !== String(rotation)
  );
}

/** How long a rotated-away bearer token stays valid (ms); 0 refuses it at once. */
export const previousTokenGraceMs = (tenant: ScimTenant): number =>
  (tenant.spec.token?.previousTokenValidForSeconds ?? 0) * 1000;

/** Which OAuth modes a tenant asks for: client credentials needs a client with a secret, federation one without. */
export function oauthModes(tenant: ScimTenant): { clientCredentials: boolean; federation: boolean } {
  const auth = tenant.spec.authentication;
  return {
    clientCredentials: auth?.clientCredentials?.enabled === true,
    federation: auth?.federation !== undefined && auth.federation !== null,
  };
}

export interface ClientObservation {
  tenant: ScimTenant;
  /** The Secret at clientSecretName(tenant); `token` is its client_secret, `values.client_id` its id. */
  secret: SecretSnapshot;
  /** The organisation's clients managed by the controller (managedBy scim-controller), oldest first. */
  clients: readonly OAuthClientRecord[];
  /** Whether the Secret's client_secret is a live secret of the kept client (the caller asks tenancy). */
  secretLive: boolean;
}

export type ClientSecretPlan =
  /** Client credentials off: no Secret (a managed one is deleted) and no secret on the client. */
  | { kind: 'none'; deleteSecret: boolean }
  | { kind: 'keep'; writeSecret: boolean }
  | { kind: 'mint'; reason: 'ClientSecretMissing' | 'RotationRequested' | 'ClientSecretNotRecognised' }
  | { kind: 'blocked'; reason: 'ClientSecretConflict'; message: string };

export interface ClientPlan {
  /** Managed clients to remove with their secrets and access tokens: all when no mode needs one, else the extras. */
  revoke: string[];
  /** The client to keep: an existing one, one to create, or none. */
  client: { kind: 'none' } | { kind: 'create' } | { kind: 'keep'; record: OAuthClientRecord };
  secret: ClientSecretPlan;
}

/**
 * Decides what to do about the tenant's managed OAuth client; level-based like planToken. Exactly one managed
 * client while client credentials or federation is on (the oldest is kept, so its client_id, configured in the
 * IdP, stays); its plaintext secret lives only in the client Secret, which is treated like the token Secret.
 */
export function planClient(o: ClientObservation): ClientPlan {
  const { tenant, secret, clients } = o;
  const modes = oauthModes(tenant);
  if (!modes.clientCredentials && !modes.federation)
    return {
      revoke: clients.map((c) => c.clientId),
      client: { kind: 'none' },
      secret: {
        kind: 'none',
        deleteSecret: secret.exists && isManagedSecret(tenant, secret, 'generated-client'),
      },
    };
  const [kept, ...extra] = clients;
  const revoke = extra.map((c) => c.clientId);
  const client: ClientPlan['client'] = kept ? { kind: 'keep', record: kept } : { kind: 'create' };
  if (!modes.clientCredentials)
    return {
      revoke,
      client,
      secret: {
        kind: 'none',
        deleteSecret: secret.exists && isManagedSecret(tenant, secret, 'generated-client'),
      },
    };

  if (secret.exists && !isManagedSecret(tenant, secret, 'generated-client'))
    return {
      revoke,
      // Federation still gets its client; client credentials waits for a Secret it may write.
      client: kept || modes.federation ? client : { kind: 'none' },
      secret: {
        kind: 'blocked',
        reason: 'ClientSecretConflict',
        message: `Secret ${secret.name} exists and is not managed by scim-controller for this ScimTenant's OAuth client; choose another spec.authentication.clientCredentials.secretName`,
      },
    };
  if (!kept || !secret.exists || !secret.token || !secret.values?.[CLIENT_ID_KEY])
    return { revoke, client, secret: { kind: 'mint', reason: 'ClientSecretMissing' } };
  const rotation = tenant.spec.authentication?.clientCredentials?.rotation ?? 0;
  // A Secret retained from a deleted ScimTenant of the same name keeps its secret (deletionPolicy: Retain).
  if (writtenForThisTenant(tenant, secret) && secret.annotations[ANNOTATION_ROTATION] !== String(rotation))
    return { revoke, client, secret: { kind: 'mint', reason: 'RotationRequested' } };
  if (secret.values[CLIENT_ID_KEY] !== kept.clientId || !o.secretLive)
    return { revoke, client, secret: { kind: 'mint', reason: 'ClientSecretNotRecognised' } };
  return {
    revoke,
    client,
    secret: { kind: 'keep', writeSecret: metadataDrifted(tenant, secret, 'generated-client', rotation) },
  };
}

/** What a rotation does with the previous client secret: a grace of previousSecretValidForSeconds, or none. */
export function previousSecretPolicy(tenant: ScimTenant): { validForMs: number } | { revoke: true } {
  const seconds = tenant.spec.authentication?.clientCredentials?.previousSecretValidForSeconds ?? 0;
  return seconds > 0 ? { validForMs: seconds * 1000 } : { revoke: true };
}

/** status.oauth of a client; the token endpoint's URL when the SCIM base URL (…/scim/v2) is known. */
export function oauthStatus(
  client: OAuthClientRecord,
  secretName: string | undefined,
  scimBaseUrl?: string,
): OAuthStatus {
  const tokenEndpoint = scimBaseUrl ? tokenEndpointUrl(scimBaseUrl) : null;
  return {
    clientId: client.clientId,
    secrets: client.secrets.map((s) => ({
      fingerprint: s.fingerprint,
      createdAt: s.createdAt.toISOString(),
      ...(s.expiresAt ? { expiresAt: s.expiresAt.toISOString() } : {}),
      ...(s.lastUsedAt ? { lastUsedAt: s.lastUsedAt.toISOString() } : {}),
    })),
    ...(secretName ? { secretName } : {}),
    tokenEndpointPath: TOKEN_ENDPOINT_PATH,
    ...(tokenEndpoint ? { tokenEndpoint } : {}),
  };
}

function onlyValid(tokens: readonly TokenRecord[], hash: string): TokenRecord | undefined {
  return tokens.length === 1 && tokens[0]!.hash === hash ? tokens[0] : undefined;
}

/** What the apply step achieved, fed back into the pure status computation. */
export interface ReconcileOutcome {
  /** MongoDB or Redis unreachable: nothing further is known. */
  unavailable?: { dependency: 'MongoDB' | 'Redis'; message: string };
  settings?:
    { applied: true; defaultGroupMissing?: string } | { applied: false; reason: string; message: string };
  token?:
    | {
        issued: true;
        record: TokenRecord;
        secretName: string;
        /** When the last rotated-away token in its grace period is refused. */
        previousValidUntil?: Date;
      }
    | { issued: false; reason: string; message: string; secretName?: string };
  /** The managed OAuth client: none wanted, in place, or blocked (e.g. its Secret's name is taken). */
  client?:
    | { state: 'none' }
    | { state: 'ready'; record: OAuthClientRecord; secretName?: string }
    | { state: 'blocked'; reason: string; message: string; record?: OAuthClientRecord };
  counts?: { users: number; groups: number };
  /** The request log's summary (status.requests). */
  requests?: RequestSummary;
}

export interface StatusContext {
  now: Date;
  scimBaseUrl?: string;
}

/** The status a tenant should show after an outcome; conditions keep their transition times. */
export function computeStatus(
  tenant: ScimTenant,
  outcome: ReconcileOutcome,
  ctx: StatusContext,
): ScimTenantStatus {
  const generation = tenant.metadata.generation ?? 0;
  const previous = tenant.status ?? {};
  let conditions = previous.conditions ?? [];
  const set = (c: ConditionInput) => (conditions = setCondition(conditions, c, generation, ctx.now));

  const status: ScimTenantStatus = { ...previous, observedGeneration: generation };
  if (ctx.scimBaseUrl) status.scimBaseUrl = ctx.scimBaseUrl;

  if (outcome.unavailable) {
    const reason = outcome.unavailable.dependency === 'MongoDB' ? 'MongoUnreachable' : 'RedisUnreachable';
    const message = `${outcome.unavailable.message}; retrying with backoff`;
    set({ type: 'Ready', status: 'False', reason, message });
    if (!outcome.settings) set({ type: 'SettingsApplied', status: 'Unknown', reason, message });
    if (!outcome.token) set({ type: 'TokenIssued', status: 'Unknown', reason, message });
    if (!outcome.client && conditions.some((c) => c.type === 'OAuthClientReady'))
      set({ type: 'OAuthClientReady', status: 'Unknown', reason, message });
  }

  if (outcome.settings) {
    const s = outcome.settings;
    if (!s.applied) set({ type: 'SettingsApplied', status: 'False', reason: s.reason, message: s.message });
    else if (s.defaultGroupMissing !== undefined)
      set({
        type: 'SettingsApplied',
        status: 'False',
        reason: 'DefaultGroupNotFound',
        message: `default group "${s.defaultGroupMissing}" does not exist in organisation ${tenant.spec.organisationId}; create it (e.g. through SCIM) or change spec.defaultGroup`,
      });
    else
      set({
        type: 'SettingsApplied',
        status: 'True',
        reason: 'SettingsApplied',
        message: 'organisation settings are stored',
      });
  }

  if (outcome.token) {
    const t = outcome.token;
    if (t.issued) {
      status.tokenIssuedAt = t.record.issuedAt.toISOString();
      status.tokenFingerprint = t.record.fingerprint;
      status.secretName = t.secretName;
      if (t.previousValidUntil) status.previousTokenValidUntil = t.previousValidUntil.toISOString();
      else delete status.previousTokenValidUntil;
      set({
        type: 'TokenIssued',
        status: 'True',
        reason: 'TokenIssued',
        message: `token ${t.record.fingerprint} is valid; Secret ${t.secretName} holds it`,
      });
    } else {
      delete status.tokenIssuedAt;
      delete status.tokenFingerprint;
      delete status.previousTokenValidUntil;
      if (t.secretName) status.secretName = t.secretName;
      else delete status.secretName;
      set({ type: 'TokenIssued', status: 'False', reason: t.reason, message: t.message });
    }
  }

  if (outcome.client) {
    const c = outcome.client;
    if (c.state === 'none') {
      delete status.oauth;
      conditions = conditions.filter((x) => x.type !== 'OAuthClientReady');
    } else if (c.state === 'ready') {
      status.oauth = oauthStatus(c.record, c.secretName, ctx.scimBaseUrl);
      const modes = oauthModes(tenant);
      const uses = [
        modes.clientCredentials ? `client credentials (Secret ${c.secretName})` : undefined,
        modes.federation ? 'workload identity federation' : undefined,
      ].filter(Boolean);
      set({
        type: 'OAuthClientReady',
        status: 'True',
        reason: 'OAuthClientReady',
        message: `OAuth client ${c.record.clientId} is ready for ${uses.join(' and ')} at ${TOKEN_ENDPOINT_PATH}`,
      });
    } else {
      if (c.record) status.oauth = oauthStatus(c.record, undefined, ctx.scimBaseUrl);
      else delete status.oauth;
      set({ type: 'OAuthClientReady', status: 'False', reason: c.reason, message: c.message });
    }
  }

  if (outcome.counts) {
    status.users = outcome.counts.users;
    status.groups = outcome.counts.groups;
  }
  if (outcome.requests) status.requests = requestsStatus(outcome.requests);

  if (!outcome.unavailable) set(readyFrom(tenant, conditions));
  status.conditions = conditions;
  return status;
}

/** Ready summarises: IdPs can provision now. The first failing condition explains why not. */
function readyFrom(tenant: ScimTenant, conditions: ScimTenantStatus['conditions'] & object): ConditionInput {
  const bearer = tenant.spec.authentication?.bearerToken?.enabled !== false;
  const modes = oauthModes(tenant);
  // A token problem does not stop an IdP that authenticates otherwise: with the bearer token off it is not counted.
  const counted = ['SettingsApplied', ...(bearer ? ['TokenIssued'] : []), 'OAuthClientReady'];
  for (const type of counted) {
    const c = conditions.find((x) => x.type === type);
    if (c && c.status !== 'True')
      return { type: 'Ready', status: c.status, reason: c.reason, message: c.message };
  }
  if (tenant.spec.enabled === false)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ProvisioningDisabled',
      message: 'spec.enabled is false: the api refuses provisioning for this organisation',
    };
  if (tenant.spec.plan?.scimIncluded === false)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ScimNotInPlan',
      message:
        'spec.plan.scimIncluded is false: the api answers 403 "SCIM provisioning is not enabled for your account"',
    };
  if (tenant.spec.paused === true)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ProvisioningPaused',
      message: 'spec.paused is true: the api answers 503 with Retry-After until it is false again',
    };
  if (!bearer && !modes.clientCredentials && !modes.federation)
    return {
      type: 'Ready',
      status: 'False',
      reason: 'NoAuthenticationMode',
      message:
        'spec.authentication turns every mode off (bearerToken, clientCredentials, federation): the api accepts no credential',
    };
  const accepts = [
    bearer ? 'the token in the Secret' : undefined,
    modes.clientCredentials ? 'client credentials' : undefined,
    modes.federation ? 'federated assertions' : undefined,
  ].filter(Boolean);
  return {
    type: 'Ready',
    status: 'True',
    reason: 'ProvisioningReady',
    message: `the SCIM endpoint accepts ${accepts.join(', ')}`,
  };
}

/** Only the fields the controller owns, for comparing before writing. */
export function sameStatus(a: ScimTenantStatus | undefined, b: ScimTenantStatus): boolean {
  return JSON.stringify(normalise(a ?? {})) === JSON.stringify(normalise(b));
}

function normalise(s: ScimTenantStatus): ScimTenantStatus {
  const sorted = Object.fromEntries(
    Object.entries(s).sort(([x], [y]) => x.localeCompare(y)),
  ) as ScimTenantStatus;
  if (sorted.conditions)
    sorted.conditions = sorted.conditions.map(
      (c) => Object.fromEntries(Object.entries(c).sort(([x], [y]) => x.localeCompare(y))) as typeof c,
    );
  return sorted;
}
