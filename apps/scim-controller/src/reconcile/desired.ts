import { parseOrganisationSettings, type OrganisationSettings, type TokenRecord } from '@scimbridge/tenancy';
import {
  ANNOTATION_ROTATION,
  ANNOTATION_TENANT_UID,
  FIELD_MANAGER,
  LABEL_MANAGED_BY,
  LABEL_TENANT,
  LABEL_USE,
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
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerUids: string[];
}

export const tokenSecretKey = (tenant: ScimTenant): string =>
  tenant.spec.token?.existingSecretRef?.key ?? 'token';

/**
 * The organisation settings a tenant's spec asks for; webhook secrets resolved by the caller. Defaults are
 * tenancy's (the schema `scimctl apply` parses with too), so one spec gives the same settings either way.
 */
export function desiredSettings(
  tenant: ScimTenant,
  webhookSecrets: ReadonlyMap<string, string>,
): OrganisationSettings {
  const {
    organisationId: _id,
    adoptExistingOrganisation: _adopt,
    token: _token,
    audit,
    ...settings
  } = tenant.spec;
  return parseOrganisationSettings({
    ...settings,
    audit: {
      webhooks: (audit?.webhooks ?? []).map((w) => ({
        name: w.name,
        url: w.url,
        secret: webhookSecrets.get(w.name) ?? '',
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

/** Whether a Secret is the generated token Secret of this tenant (labelled by us, for this tenant name). */
export function isManagedSecret(tenant: ScimTenant, secret: SecretSnapshot): boolean {
  return hasOurLabels(tenant, secret) || writtenForThisTenant(tenant, secret);
}

function hasOurLabels(tenant: ScimTenant, secret: SecretSnapshot): boolean {
  return (
    secret.labels[LABEL_MANAGED_BY] === FIELD_MANAGER &&
    secret.labels[LABEL_TENANT] === tenant.metadata.name &&
    secret.labels[LABEL_USE] === 'generated-token'
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
  const writeSecret =
    !ownedByThisTenant ||
    !hasOurLabels(tenant, secret) ||
    secret.annotations[ANNOTATION_TENANT_UID] !== tenant.metadata.uid ||
    secret.ownerUids.includes(tenant.metadata.uid ?? '') !== secretOwnedByTenant(tenant) ||
    secret.ownerUids.some((uid) => uid !== tenant.metadata.uid) ||
    secret.annotations[ANNOTATION_ROTATION] !== String(rotation);
  return record ? { kind: 'keep', record, writeSecret } : { kind: 'adopt', token: secret.token, writeSecret };
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
    | { issued: true; record: TokenRecord; secretName: string }
    | { issued: false; reason: string; message: string; secretName?: string };
  counts?: { users: number; groups: number };
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
      set({
        type: 'TokenIssued',
        status: 'True',
        reason: 'TokenIssued',
        message: `token ${t.record.fingerprint} is valid; Secret ${t.secretName} holds it`,
      });
    } else {
      delete status.tokenIssuedAt;
      delete status.tokenFingerprint;
      if (t.secretName) status.secretName = t.secretName;
      else delete status.secretName;
      set({ type: 'TokenIssued', status: 'False', reason: t.reason, message: t.message });
    }
  }

  if (outcome.counts) {
    status.users = outcome.counts.users;
    status.groups = outcome.counts.groups;
  }

  if (!outcome.unavailable) set(readyFrom(tenant, conditions));
  status.conditions = conditions;
  return status;
}

/** Ready summarises: IdPs can provision now. The first failing condition explains why not. */
function readyFrom(tenant: ScimTenant, conditions: ScimTenantStatus['conditions'] & object): ConditionInput {
  for (const type of ['SettingsApplied', 'TokenIssued'] as const) {
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
  return {
    type: 'Ready',
    status: 'True',
    reason: 'ProvisioningReady',
    message: 'the SCIM endpoint accepts the token in the Secret',
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
