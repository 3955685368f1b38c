import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { OrganisationSettingsInput } from '@scimbridge/tenancy';

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
/**
 * The opt-in: a Secret is read for a ScimTenant only if it carries this label, and its value says for what
 * (`token` for spec.token.existingSecretRef, `webhook-key` for an audit webhook's secretRef). The generated
 * token Secrets carry `generated-token`, so they cannot be named by another tenant's reference. The Secret
 * informer watches only Secrets with this label.
 */
export const LABEL_USE = 'scimbridge.io/use';
export type SecretUse = 'token' | 'webhook-key' | 'generated-token';
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
export interface ScimTenantSpec extends Omit<OrganisationSettingsInput, 'audit'> {
  organisationId: string;
  /** Take over an organisation that exists without a ScimTenant (created by scimctl, or released); the policy must allow it. */
  adoptExistingOrganisation?: boolean;
  token?: {
    rotation?: number;
    revoked?: boolean;
    secretName?: string;
    existingSecretRef?: SecretKeyRef;
    deletionPolicy?: 'Delete' | 'Retain';
  };
  audit?: { webhooks?: { name: string; url: string; secretRef: SecretKeyRef }[] };
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionType = 'Ready' | 'TokenIssued' | 'SettingsApplied';

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
