import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { OrganisationSettingsInput } from '@scimbridge/tenancy';
import type { DriftStatus } from '../drift/drift-status.js';

/** The ScimTenant API (k8s/crd/scimtenants.scimbridge.io.yaml is its schema; this mirrors it after defaulting). */
export const GROUP = 'scimbridge.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'scimtenants';
export const KIND = 'ScimTenant';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Added before any write to MongoDB, removed once the organisation is disabled. */
export const FINALIZER = 'scimbridge.io/cleanup';
/** Field manager for every write the controller makes (server-side apply and patches). */
export const FIELD_MANAGER = 'scim-controller';

/** Labels and annotations on the Secrets the controller writes. */
export const LABEL_TENANT = 'scimbridge.io/tenant';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const ANNOTATION_ROTATION = 'scimbridge.io/rotation';
export const ANNOTATION_FINGERPRINT = 'scimbridge.io/token-fingerprint';
export const TOKEN_KEY = 'token';
/** Keys of the generated OAuth client Secret (spec.authentication.clientCredentials.secretName). */
export const CLIENT_ID_KEY = 'client_id';
export const CLIENT_SECRET_KEY = 'client_secret';
export const ANNOTATION_CLIENT_SECRET_FINGERPRINT = 'scimbridge.io/client-secret-fingerprint';
/** `managedBy` of the OAuth client the controller keeps for a tenant (tenancy's clients). */
export const CLIENT_MANAGER = 'scim-controller';
/** Where the api serves the token endpoint, relative to the public base (the SCIM base minus /scim/v2). */
export { TOKEN_ENDPOINT_PATH } from '@scimbridge/tenancy';
/**
 * The opt-in: a Secret is read for a ScimTenant only if it carries this label, and its value says for what
 * (`token` for spec.token.existingSecretRef, `webhook-key` for an audit webhook's secretRef, `event-stream-auth` for
 * an event stream's authorizationSecretRef). The generated
 * token Secrets carry `generated-token`, so they cannot be named by another tenant's reference. The Secret
 * informer watches only Secrets with this label.
 */
export const LABEL_USE = 'scimbridge.io/use';
export type SecretUse =
  'token' | 'webhook-key' | 'event-stream-auth' | 'generated-token' | 'generated-client';
/** On a generated Secret without an ownerReference (deletionPolicy Retain): the uid of the tenant that wrote it. */
export const ANNOTATION_TENANT_UID = 'scimbridge.io/tenant-uid';

export interface SecretKeyRef {
  name: string;
  key?: string;
}

/**
 * The spec: an organisation's settings as @scimbridge/tenancy takes them (its defaults are the CRD's), plus what
 * only Kubernetes has: the organisation id, adoption, the token and webhook secrets by Secret reference.
 */
/** spec.authentication: tenancy's settings plus the controller-only fields of the client Secret. */
export interface AuthenticationSpec {
  bearerToken?: { enabled?: boolean };
  clientCredentials?: {
    enabled?: boolean;
    accessTokenLifetimeSeconds?: number;
    /** Controller only: the Secret client_id and client_secret are written to; default <name>-scim-client. */
    secretName?: string;
    /** Controller only: bump to issue a new client secret. */
    rotation?: number;
    /** Controller only: how long the previous secret stays valid after a rotation (0: refused at once). */
    previousSecretValidForSeconds?: number;
  };
  federation?: { issuer: string; subject: string; audience: string; jwksUrl: string } | null;
}

export interface ScimTenantSpec extends Omit<OrganisationSettingsInput, 'audit' | 'authentication'> {
  organisationId: string;
  /** Take over an organisation that exists without a ScimTenant (created by scimctl, or released); the policy must allow it. */
  adoptExistingOrganisation?: boolean;
  token?: {
    rotation?: number;
    revoked?: boolean;
    secretName?: string;
    existingSecretRef?: SecretKeyRef;
    deletionPolicy?: 'Delete' | 'Retain';
    /** After a rotation the previous token stays valid this long (0: refused at once). */
    previousTokenValidForSeconds?: number;
  };
  authentication?: AuthenticationSpec;
  audit?: {
    webhooks?: { name: string; url: string; secretRef: SecretKeyRef }[];
    /** RFC 9967 SET receivers (RFC 8935 push); the Authorization header value, if any, from a Secret. */
    eventStreams?: EventStreamSpec[];
  };
}

export interface EventStreamSpec {
  name: string;
  url: string;
  audience: string;
  authorizationSecretRef?: SecretKeyRef;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionType = 'Ready' | 'TokenIssued' | 'SettingsApplied' | 'OAuthClientReady';

/** metav1.Condition */
export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ScimTenantStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  tokenIssuedAt?: string;
  tokenFingerprint?: string;
  secretName?: string;
  users?: number;
  groups?: number;
  scimBaseUrl?: string;
  /** While a rotated-away bearer token is in its grace period: when the last one is refused (RFC 3339). */
  previousTokenValidUntil?: string;
  /** The managed OAuth client, while client credentials or federation is on. Never a secret. */
  oauth?: OAuthStatus;
  /** The organisation's SCIM requests from its request log (reconcile/requests-status.ts). */
  requests?: RequestsStatus;
  /** The organisation's drift report, counts only, on its own period (drift/drift-status.ts). */
  drift?: DriftStatus;
}

/**
 * `status.requests`: the last success, the last failure and why, the last hour's failures by reason; as of the
 * last reconcile (every resync at least), written only when it changed.
 */
export interface RequestsStatus {
  lastSuccessAt?: string;
  lastFailure?: { at: string; status: number; reason?: string; message?: string; tokenFingerprint?: string };
  lastHour: {
    failures: number;
    /** The count reached the summary's read bound. */
    atLeast?: boolean;
    dropped?: number;
    byReason: { reason: string; count: number }[];
  };
}

export interface OAuthStatus {
  clientId: string;
  /** The client's live secrets (current and those in a rotation's grace), oldest first; [] for federation only. */
  secrets: { fingerprint: string; createdAt: string; expiresAt?: string; lastUsedAt?: string }[];
  /** The Secret holding client_id and client_secret (client credentials only). */
  secretName?: string;
  tokenEndpointPath: string;
  /** The full token endpoint URL, when the controller knows the public SCIM base URL. */
  tokenEndpoint?: string;
}

export interface ScimTenant extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: ScimTenantSpec;
  status?: ScimTenantStatus;
}

export const tenantKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The Secret a generated token is written to. */
export function generatedSecretName(tenant: ScimTenant): string {
  return tenant.spec.token?.secretName ?? `${tenant.metadata.name}-scim-token`;
}

/** The Secret the managed OAuth client's id and secret are written to. */
export function clientSecretName(tenant: ScimTenant): string {
  return tenant.spec.authentication?.clientCredentials?.secretName ?? `${tenant.metadata.name}-scim-client`;
}
