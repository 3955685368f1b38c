import { createHash } from 'node:crypto';
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type CustomObjectsApi,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  TokenInUseError,
  tokenFingerprint,
  type IssuedClientSecret,
  type OAuthClientRecord,
  type OrganisationOwner,
  type TokenRecord,
} from '@scimbridge/tenancy';
import type { Logger } from 'pino';
import {
  ANNOTATION_CLIENT_SECRET_FINGERPRINT,
  ANNOTATION_FINGERPRINT,
  ANNOTATION_ROTATION,
  CLIENT_ID_KEY,
  CLIENT_MANAGER,
  CLIENT_SECRET_KEY,
  clientSecretName,
  ANNOTATION_TENANT_UID,
  API_VERSION,
  FIELD_MANAGER,
  FINALIZER,
  GROUP,
  KIND,
  LABEL_MANAGED_BY,
  LABEL_TENANT,
  LABEL_USE,
  PLURAL,
  TOKEN_KEY,
  VERSION,
  generatedSecretName,
  type ScimTenant,
  type SecretUse,
  type ScimTenantStatus,
} from '../api/scim-tenant.js';
import { isConflict, isNotFound } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import type { HandlerResult } from '../queue/work-queue.js';
import { BackendUnavailableError, type TenantBackend } from '../tenancy/backend.js';
import type { DriftStatusSource } from '../drift/drift-status.js';
import type { OwnershipPolicy } from '../tenancy/ownership-policy.js';
import { findCondition } from './conditions.js';
import {
  computeStatus,
  desiredSettings,
  isManagedSecret,
  notOptedInMessage,
  oauthModes,
  optedIn,
  planClient,
  planToken,
  previousSecretPolicy,
  previousTokenGraceMs,
  sameStatus,
  secretOwnedByTenant,
  tokenSecretKey,
  type ReconcileOutcome,
  type SecretSnapshot,
} from './desired.js';

export interface ReconcilerOptions {
  custom: CustomObjectsApi;
  core: CoreV1Api;
  backend: TenantBackend;
  /** Which organisations each namespace may claim or adopt. */
  policy: OwnershipPolicy;
  events: EventRecorder;
  logger: Logger;
  /** Public SCIM base URL shown in status, e.g. https://scim.example.com/scim/v2. */
  scimBaseUrl?: string;
  /** Recheck interval for things no watch can signal, e.g. a default group created through SCIM. */
  dependencyRequeueMs: number;
  /** status.drift, recomputed on its own slow period (drift/drift-status.ts). */
  drift?: DriftStatusSource;
}

/** A reconcile that wrote its status and now wants the queue's backoff (e.g. MongoDB unreachable). */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/**
 * Reconciles one ScimTenant: read state → compute desired (desired.ts, pure) → apply. Idempotent and
 * level-based: it reads the resource and its Secret from the apiserver (not the informer cache), so a
 * stale cache can never make it mint a second token.
 */
export class Reconciler {
  /**
   * The content of each token Secret as this controller last wrote it (`namespace/name` → secretDigest), so
   * the watch event of our own write does not queue a second, no-op reconcile (controller-runtime's
   * "expectations"). Recorded before the write: the event can arrive before the response.
   */
  readonly writtenSecrets = new Map<string, string>();

  constructor(private readonly o: ReconcilerOptions) {}

  async reconcile(namespace: string, name: string): Promise<HandlerResult> {
    const tenant = await this.read(namespace, name);
    if (!tenant) return {};
    if (tenant.metadata.deletionTimestamp) return this.finalize(tenant);
    if (!(tenant.metadata.finalizers ?? []).includes(FINALIZER)) {
      // Before any external write, so that a deletion always passes through finalize().
      await this.patchFinalizers(tenant, [...(tenant.metadata.finalizers ?? []), FINALIZER]);
    }

    const outcome: ReconcileOutcome = {};
    let requeueAfterMs: number | undefined;
    let drift: Awaited<ReturnType<DriftStatusSource['status']>> | undefined;
    try {
      const refusal = await this.claimOrganisation(tenant);
      if (refusal) {
        // Nothing is written. A conflict is checked again, so it takes over once the owner is deleted; the
        // other refusals need a spec or policy change, which a watch event or the resync brings.
        outcome.settings = { applied: false, ...refusal };
        outcome.token = { issued: false, ...refusal };
        if (refusal.reason === 'OrganisationConflict') requeueAfterMs = this.o.dependencyRequeueMs;
      } else {
        requeueAfterMs = await this.applySettings(tenant, outcome);
        requeueAfterMs = minDefined(requeueAfterMs, await this.applyToken(tenant, outcome));
        requeueAfterMs = minDefined(requeueAfterMs, await this.applyClient(tenant, outcome));
        outcome.counts = await this.o.backend.counts(tenant.spec.organisationId);
        outcome.requests = await this.o.backend.requestSummary(tenant.spec.organisationId);
        drift = await this.o.drift?.status(tenant.spec.organisationId, tenant.status?.drift);
        requeueAfterMs = minDefined(requeueAfterMs, drift?.requeueAfterMs);
      }
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      outcome.unavailable = { dependency: error.dependency, message: error.message };
    }

    const status = computeStatus(tenant, outcome, { now: new Date(), ...this.scimBaseUrl() });
    // Not recomputed this time (refused, MongoDB down): the last report stays until the next one.
    const driftStatus = this.o.drift ? (drift?.drift ?? tenant.status?.drift) : undefined;
    if (driftStatus) status.drift = driftStatus;
    await this.writeStatus(tenant, status);
    if (outcome.unavailable) throw new RetryLaterError(outcome.unavailable.message);
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /**
   * Claims the organisation for this tenant, or returns why not: the ownership policy does not let the
   * namespace manage it, another live ScimTenant holds it, or it exists without a ScimTenant and adoption was
   * not asked for or is not allowed. Nothing is written before every check has passed. A claim whose ScimTenant
   * no longer exists (deleted while no controller ran its finalizer) counts as released.
   */
  private async claimOrganisation(tenant: ScimTenant): Promise<Refusal | undefined> {
    const orgId = tenant.spec.organisationId;
    const { namespace } = tenant.metadata;
    const me = { uid: tenant.metadata.uid ?? '', namespace, name: tenant.metadata.name };
    const allowed = this.o.policy.mayClaim(namespace, orgId);
    if (!allowed.allowed) return allowed;

    const owner = await this.o.backend.owner(orgId);
    if (owner?.uid === me.uid) return undefined;
    if (owner) {
      const holder = await this.read(owner.namespace, owner.name);
      if (holder?.metadata.uid === owner.uid) return conflictWith(orgId, owner);
    }
    if (await this.o.backend.organisationExists(orgId)) {
      const adoption = this.o.policy.mayAdopt(
        namespace,
        orgId,
        tenant.spec.adoptExistingOrganisation === true,
      );
      if (!adoption.allowed) return adoption;
    }
    if (owner) await this.o.backend.releaseClaim(orgId, owner.uid);
    const winner = await this.o.backend.claim(orgId, me);
    return winner.uid === me.uid ? undefined : conflictWith(orgId, winner);
  }

  private scimBaseUrl(): { scimBaseUrl?: string } {
    return this.o.scimBaseUrl ? { scimBaseUrl: this.o.scimBaseUrl } : {};
  }

  private async read(namespace: string, name: string): Promise<ScimTenant | undefined> {
    try {
      return (await this.o.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as ScimTenant;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async applySettings(tenant: ScimTenant, outcome: ReconcileOutcome): Promise<number | undefined> {
    const webhookSecrets = new Map<string, string>();
    for (const webhook of tenant.spec.audit?.webhooks ?? []) {
      const ref = webhook.secretRef;
      const key = ref.key ?? 'secret';
      const secret = await this.snapshot(tenant.metadata.namespace, ref.name, key, 'webhook-key');
      if (!optedIn(secret, 'webhook-key')) {
        outcome.settings = {
          applied: false,
          reason: 'SecretNotOptedIn',
          message: `audit webhook ${webhook.name}: ${notOptedInMessage('secretRef', ref.name, 'webhook-key')}`,
        };
        return this.o.dependencyRequeueMs;
      }
      if (secret.token === undefined) {
        outcome.settings = {
          applied: false,
          reason: 'WebhookSecretKeyMissing',
          message: `audit webhook ${webhook.name}: Secret ${ref.name} has no key ${key} (set secretRef.key)`,
        };
        return this.o.dependencyRequeueMs;
      }
      webhookSecrets.set(webhook.name, secret.token);
    }
    const authorizations = new Map<string, string>();
    for (const stream of tenant.spec.audit?.eventStreams ?? []) {
      const ref = stream.authorizationSecretRef;
      if (!ref) continue;
      const key = ref.key ?? 'authorization';
      const secret = await this.snapshot(tenant.metadata.namespace, ref.name, key, 'event-stream-auth');
      if (!optedIn(secret, 'event-stream-auth')) {
        outcome.settings = {
          applied: false,
          reason: 'SecretNotOptedIn',
          message: `audit event stream ${stream.name}: ${notOptedInMessage('authorizationSecretRef', ref.name, 'event-stream-auth')}`,
        };
        return this.o.dependencyRequeueMs;
      }
      if (secret.token === undefined) {
        outcome.settings = {
          applied: false,
          reason: 'EventStreamSecretKeyMissing',
          message: `audit event stream ${stream.name}: Secret ${ref.name} has no key ${key} (set authorizationSecretRef.key)`,
        };
        return this.o.dependencyRequeueMs;
      }
      authorizations.set(stream.name, secret.token);
    }
    const settings = desiredSettings(tenant, webhookSecrets, authorizations);
    const orgId = tenant.spec.organisationId;
    await this.o.backend.applySettings(orgId, settings);
    if (settings.defaultGroup && !(await this.o.backend.groupExists(orgId, settings.defaultGroup))) {
      outcome.settings = { applied: true, defaultGroupMissing: settings.defaultGroup };
      return this.o.dependencyRequeueMs;
    }
    outcome.settings = { applied: true };
    if (
      findCondition(tenant.status?.conditions, 'SettingsApplied')?.observedGeneration !==
      tenant.metadata.generation
    )
      await this.o.events.record(
        tenant,
        'Normal',
        'SettingsApplied',
        `organisation ${orgId} settings stored`,
      );
    return undefined;
  }

  /**
   * The token, then the grace of rotated-away ones: status shows when the last is refused, and a requeue just
   * after that instant clears it.
   */
  private async applyToken(tenant: ScimTenant, outcome: ReconcileOutcome): Promise<number | undefined> {
    const requeueAfterMs = await this.reconcileToken(tenant, outcome);
    if (!outcome.token?.issued) return requeueAfterMs;
    const previous = await this.o.backend.previousTokens(tenant.spec.organisationId);
    const until = previous.at(-1)?.validUntil;
    if (!until) return requeueAfterMs;
    outcome.token.previousValidUntil = until;
    return minDefined(requeueAfterMs, Math.max(0, until.getTime() - Date.now()) + 1_000);
  }

  private async reconcileToken(tenant: ScimTenant, outcome: ReconcileOutcome): Promise<number | undefined> {
    const { backend } = this.o;
    const orgId = tenant.spec.organisationId;
    const userRef = tenant.spec.token?.existingSecretRef;
    const secretName = userRef?.name ?? generatedSecretName(tenant);
    const secret = await this.snapshot(
      tenant.metadata.namespace,
      secretName,
      tokenSecretKey(tenant),
      userRef ? 'token' : undefined,
    );
    const plan = planToken({
      tenant,
      secret,
      tokens: await backend.tokens(orgId),
      hashToken: (t) => backend.hashToken(t),
      tokenProblem: (t) => backend.tokenProblem(t),
    });

    switch (plan.kind) {
      case 'revoke': {
        await backend.revokeTokens(orgId);
        if (plan.deleteSecret) await this.deleteSecret(tenant.metadata.namespace, secretName);
        outcome.token = {
          issued: false,
          reason: 'TokenRevoked',
          message: 'spec.token.revoked is true: no token is valid; set it to false to issue a new one',
        };
        if (tenant.status?.tokenFingerprint)
          await this.o.events.record(
            tenant,
            'Normal',
            'TokenRevoked',
            `token ${tenant.status.tokenFingerprint} revoked`,
          );
        return undefined;
      }
      case 'blocked':
        outcome.token = { issued: false, reason: plan.reason, message: plan.message, secretName };
        await this.o.events.record(tenant, 'Warning', plan.reason, plan.message);
        return plan.reason === 'TokenSecretConflict' ? undefined : this.o.dependencyRequeueMs;
      case 'issue': {
        // Only a requested rotation keeps the previous token for a while: a lost or tampered Secret means
        // nobody should be holding it.
        const graceMs = plan.reason === 'RotationRequested' ? previousTokenGraceMs(tenant) : 0;
        const issued = await backend.issueToken(orgId, graceMs > 0 ? { previousValidForMs: graceMs } : {});
        await this.applyGeneratedSecret(tenant, secretName, issued.token, issued);
        outcome.token = { issued: true, record: issued, secretName };
        const reason = plan.reason === 'RotationRequested' ? 'TokenRotated' : 'TokenIssued';
        const grace = graceMs > 0 ? `; the previous token stays valid for ${graceMs / 1000} s` : '';
        await this.o.events.record(
          tenant,
          'Normal',
          reason,
          `token ${issued.fingerprint} written to Secret ${secretName} (${plan.reason})${grace}`,
        );
        return undefined;
      }
      case 'adopt': {
        let record: TokenRecord;
        try {
          record = await backend.adoptToken(orgId, plan.token);
        } catch (error) {
          if (!(error instanceof TokenInUseError)) throw error;
          const message = `the token in Secret ${secretName} already belongs to another organisation; supply a token of its own`;
          outcome.token = { issued: false, reason: 'TokenInUse', message, secretName };
          await this.o.events.record(tenant, 'Warning', 'TokenInUse', message);
          return undefined;
        }
        if (plan.writeSecret) await this.applyGeneratedSecret(tenant, secretName, plan.token, record);
        outcome.token = { issued: true, record, secretName };
        await this.o.events.record(
          tenant,
          'Normal',
          'TokenAdopted',
          `token ${record.fingerprint} from Secret ${secretName} is now the only valid one`,
        );
        return undefined;
      }
      case 'keep':
        if (plan.writeSecret) await this.applyGeneratedSecret(tenant, secretName, secret.token!, plan.record);
        outcome.token = { issued: true, record: plan.record, secretName };
        return undefined;
    }
  }

  /**
   * The managed OAuth client (planClient): one while client credentials or federation is on, its secret only in
   * the client Secret. Access tokens of a mode that is off are revoked (the api refuses them anyway; this makes
   * it final). Requeues when a secret in its grace period ends, so status drops it.
   */
  private async applyClient(tenant: ScimTenant, outcome: ReconcileOutcome): Promise<number | undefined> {
    const { backend } = this.o;
    const orgId = tenant.spec.organisationId;
    const { namespace } = tenant.metadata;
    const modes = oauthModes(tenant);
    const secretName = clientSecretName(tenant);
    const secret = await this.snapshot(namespace, secretName, CLIENT_SECRET_KEY);
    const clients = (await backend.clients(orgId)).filter((c) => c.managedBy === CLIENT_MANAGER);
    const kept = clients[0];
    const secretLive =
      kept !== undefined &&
      secret.token !== undefined &&
      secret.values?.[CLIENT_ID_KEY] === kept.clientId &&
      (await backend.clientSecretLive(orgId, kept.clientId, secret.token));
    const plan = planClient({ tenant, secret, clients, secretLive });

    for (const clientId of plan.revoke) {
      await backend.revokeClient(orgId, clientId);
      await this.o.events.record(
        tenant,
        'Normal',
        'ClientSecretRevoked',
        `OAuth client ${clientId} revoked with its secrets and access tokens`,
      );
    }
    if (!modes.federation) await backend.revokeAccessTokens(orgId, 'federation');
    if (!modes.clientCredentials) await backend.revokeAccessTokens(orgId, 'client_secret');

    let record: OAuthClientRecord | undefined;
    let issued: IssuedClientSecret | undefined;
    if (plan.client.kind === 'keep') record = plan.client.record;
    else if (plan.client.kind === 'create') {
      const created = await backend.createClient(orgId, {
        managedBy: CLIENT_MANAGER,
        withSecret: plan.secret.kind === 'mint',
      });
      record = created.client;
      issued = created.secret ?? undefined;
    }

    switch (plan.secret.kind) {
      case 'none':
        if (record && record.secrets.length > 0) {
          await backend.revokeClientSecrets(orgId, record.clientId);
          await this.o.events.record(
            tenant,
            'Normal',
            'ClientSecretRevoked',
            `client credentials are off: the secrets of OAuth client ${record.clientId} are revoked`,
          );
        }
        if (plan.secret.deleteSecret) await this.deleteSecret(namespace, secretName);
        break;
      case 'blocked':
        outcome.client = {
          state: 'blocked',
          reason: plan.secret.reason,
          message: plan.secret.message,
          ...(record ? { record: await this.reread(orgId, record) } : {}),
        };
        await this.o.events.record(tenant, 'Warning', plan.secret.reason, plan.secret.message);
        return undefined;
      case 'mint': {
        const rotation = plan.secret.reason === 'RotationRequested';
        issued ??= await backend.rotateClientSecret(
          orgId,
          record!.clientId,
          rotation ? previousSecretPolicy(tenant) : { revoke: true },
        );
        await this.applyClientSecret(tenant, secretName, record!.clientId, issued.secret, issued.fingerprint);
        await this.o.events.record(
          tenant,
          'Normal',
          rotation ? 'ClientSecretRotated' : 'ClientSecretIssued',
          `client secret ${issued.fingerprint} of OAuth client ${record!.clientId} written to Secret ${secretName} (${plan.secret.reason})`,
        );
        break;
      }
      case 'keep':
        if (plan.secret.writeSecret) {
          const fingerprint = tokenFingerprint(backend.hashToken(secret.token!));
          await this.applyClientSecret(tenant, secretName, record!.clientId, secret.token!, fingerprint);
        }
        break;
    }

    if (!record) {
      outcome.client = { state: 'none' };
      return undefined;
    }
    record = await this.reread(orgId, record);
    outcome.client = {
      state: 'ready',
      record,
      ...(modes.clientCredentials ? { secretName } : {}),
    };
    const ends = record.secrets.flatMap((s) => (s.expiresAt ? [s.expiresAt.getTime()] : []));
    return ends.length > 0 ? Math.max(0, Math.min(...ends) - Date.now()) + 1_000 : undefined;
  }

  /** The client as stored now (its secrets after a rotation), for status. */
  private async reread(orgId: string, record: OAuthClientRecord): Promise<OAuthClientRecord> {
    const clients = await this.o.backend.clients(orgId);
    return clients.find((c) => c.clientId === record.clientId) ?? record;
  }

  private async applyClientSecret(
    tenant: ScimTenant,
    name: string,
    clientId: string,
    secret: string,
    fingerprint: string,
  ): Promise<void> {
    await this.applyManagedSecret(tenant, name, {
      use: 'generated-client',
      rotation: tenant.spec.authentication?.clientCredentials?.rotation ?? 0,
      annotations: { [ANNOTATION_CLIENT_SECRET_FINGERPRINT]: fingerprint },
      data: { [CLIENT_ID_KEY]: clientId, [CLIENT_SECRET_KEY]: secret },
    });
  }

  /**
   * The token Secret by server-side apply: Opaque, labelled, the only place the plaintext lives. Owned by the
   * tenant (garbage-collected with it) only with deletionPolicy Delete; a Retain Secret names its tenant by uid.
   */
  private async applyGeneratedSecret(
    tenant: ScimTenant,
    name: string,
    token: string,
    record: TokenRecord,
  ): Promise<void> {
    await this.applyManagedSecret(tenant, name, {
      use: 'generated-token',
      rotation: tenant.spec.token?.rotation ?? 0,
      annotations: { [ANNOTATION_FINGERPRINT]: record.fingerprint },
      data: { [TOKEN_KEY]: token },
    });
  }

  /**
   * A generated Secret (token or OAuth client) by server-side apply: Opaque, labelled with its use, annotated
   * with its rotation counter and the tenant's uid, owned by the tenant only with deletionPolicy Delete.
   */
  private async applyManagedSecret(
    tenant: ScimTenant,
    name: string,
    content: {
      use: 'generated-token' | 'generated-client';
      rotation: number;
      annotations: Record<string, string>;
      data: Record<string, string>;
    },
  ): Promise<void> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: tenant.metadata.namespace,
        labels: {
          [LABEL_MANAGED_BY]: FIELD_MANAGER,
          [LABEL_TENANT]: tenant.metadata.name,
          [LABEL_USE]: content.use,
        },
        annotations: {
          [ANNOTATION_ROTATION]: String(content.rotation),
          ...content.annotations,
          [ANNOTATION_TENANT_UID]: tenant.metadata.uid!,
        },
        ...(secretOwnedByTenant(tenant)
          ? {
              ownerReferences: [
                {
                  apiVersion: API_VERSION,
                  kind: KIND,
                  name: tenant.metadata.name,
                  uid: tenant.metadata.uid!,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            }
          : {}),
      },
      data: Object.fromEntries(
        Object.entries(content.data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
      ),
    };
    const id = `${tenant.metadata.namespace}/${name}`;
    this.writtenSecrets.set(id, secretDigest(body));
    try {
      await this.o.core.patchNamespacedSecret(
        { name, namespace: tenant.metadata.namespace, body, fieldManager: FIELD_MANAGER, force: true },
        applyPatch,
      );
    } catch (error) {
      this.writtenSecrets.delete(id);
      throw error;
    }
  }

  /**
   * A Secret read by name. With `use` (a Secret a tenant references), its value is decoded only if the Secret
   * opted in for that use: the plaintext of any other Secret never leaves the apiserver's response.
   */
  private async snapshot(
    namespace: string,
    name: string,
    key: string,
    use?: SecretUse,
  ): Promise<SecretSnapshot> {
    try {
      const secret = await this.o.core.readNamespacedSecret({ namespace, name });
      const usable = use === undefined || secret.metadata?.labels?.[LABEL_USE] === use;
      const raw = usable ? secret.data?.[key] : undefined;
      const token = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8').trim();
      const values = usable
        ? Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([k, v]) => [
              k,
              Buffer.from(v, 'base64').toString('utf8').trim(),
            ]),
          )
        : undefined;
      return {
        name,
        exists: true,
        ...(token ? { token } : {}),
        ...(values ? { values } : {}),
        labels: secret.metadata?.labels ?? {},
        annotations: secret.metadata?.annotations ?? {},
        ownerUids: (secret.metadata?.ownerReferences ?? []).map((r) => r.uid),
      };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return { name, exists: false, labels: {}, annotations: {}, ownerUids: [] };
    }
  }

  private async deleteSecret(namespace: string, name: string): Promise<void> {
    await this.o.core.deleteNamespacedSecret({ namespace, name }).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  /** Deletion: stop provisioning, keep users and groups, handle the Secret per policy, then let go. */
  private async finalize(tenant: ScimTenant): Promise<HandlerResult> {
    const finalizers = tenant.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return {};
    const orgId = tenant.spec.organisationId;
    const { namespace } = tenant.metadata;
    try {
      // A refused tenant (a duplicate, or one the policy forbids) never wrote anything, and deleting it must not
      // touch an organisation it does not hold.
      const owner = await this.o.backend.owner(orgId);
      if (owner?.uid !== tenant.metadata.uid) {
        await this.patchFinalizers(
          tenant,
          finalizers.filter((f) => f !== FINALIZER),
        );
        return {};
      }
      await this.o.backend.disable(orgId);
      if (tenant.spec.token?.existingSecretRef) {
        await this.o.backend.revokeTokens(orgId);
      } else {
        const name = generatedSecretName(tenant);
        const secret = await this.snapshot(namespace, name, TOKEN_KEY);
        const managed = secret.exists && isManagedSecret(tenant, secret);
        if ((tenant.spec.token?.deletionPolicy ?? 'Retain') === 'Delete') {
          await this.o.backend.revokeTokens(orgId);
          if (managed) await this.deleteSecret(namespace, name);
        } else {
          // Retain: the Secret stays. Its token stays valid only where the policy says so: a released
          // organisation can be adopted, and the adopter must not inherit a token another team still holds.
          if (!this.o.policy.keepsTokenOnRelease(namespace, orgId)) await this.o.backend.revokeTokens(orgId);
          // Written before Retain Secrets carried no ownerReference: without one, GC keeps the Secret.
          if (managed && secret.ownerUids.length > 0)
            await this.o.core.patchNamespacedSecret(
              { name, namespace, body: { metadata: { ownerReferences: null } } },
              mergePatch,
            );
        }
      }
      await this.releaseClient(tenant);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      await this.writeStatus(
        tenant,
        computeStatus(
          tenant,
          { unavailable: { dependency: error.dependency, message: error.message } },
          { now: new Date(), ...this.scimBaseUrl() },
        ),
      );
      throw new RetryLaterError(error.message);
    }
    await this.o.events.record(
      tenant,
      'Normal',
      'ProvisioningDisabled',
      `organisation ${orgId} disabled; its users and groups are kept`,
    );
    try {
      await this.o.backend.releaseClaim(orgId, tenant.metadata.uid ?? '');
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      throw new RetryLaterError(error.message);
    }
    await this.patchFinalizers(
      tenant,
      finalizers.filter((f) => f !== FINALIZER),
    );
    return {};
  }

  /**
   * Deletion, for the managed OAuth client: the token's deletionPolicy decides, as for the token Secret. Delete
   * revokes the client and deletes its Secret. Retain keeps the Secret (without ownerReference) and revokes the
   * client unless the policy keeps released tokens, so a re-created tenant that adopts the organisation takes
   * both back.
   */
  private async releaseClient(tenant: ScimTenant): Promise<void> {
    const orgId = tenant.spec.organisationId;
    const { namespace } = tenant.metadata;
    const name = clientSecretName(tenant);
    const secret = await this.snapshot(namespace, name, CLIENT_SECRET_KEY);
    const managed = secret.exists && isManagedSecret(tenant, secret, 'generated-client');
    const remove = secretOwnedByTenant(tenant) || !this.o.policy.keepsTokenOnRelease(namespace, orgId);
    if (remove)
      for (const client of await this.o.backend.clients(orgId))
        if (client.managedBy === CLIENT_MANAGER) await this.o.backend.revokeClient(orgId, client.clientId);
    if (managed && secretOwnedByTenant(tenant)) await this.deleteSecret(namespace, name);
    else if (managed && secret.ownerUids.length > 0)
      await this.o.core.patchNamespacedSecret(
        { name, namespace, body: { metadata: { ownerReferences: null } } },
        mergePatch,
      );
  }

  /** JSON patch guarded by a `test` of the current list, so other controllers' finalizers are never clobbered. */
  private async patchFinalizers(tenant: ScimTenant, next: string[]): Promise<void> {
    const current = tenant.metadata.finalizers;
    const body = current
      ? [
          { op: 'test', path: '/metadata/finalizers', value: current },
          { op: 'replace', path: '/metadata/finalizers', value: next },
        ]
      : [
          { op: 'test', path: '/metadata/resourceVersion', value: tenant.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: next },
        ];
    try {
      const updated = (await this.o.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: tenant.metadata.namespace,
          plural: PLURAL,
          name: tenant.metadata.name,
          body,
        },
        jsonPatch,
      )) as ScimTenant;
      tenant.metadata.finalizers = updated.metadata.finalizers ?? [];
      tenant.metadata.resourceVersion = updated.metadata.resourceVersion!;
    } catch (error) {
      if (isNotFound(error) && next.length < (current ?? []).length) return;
      if (isConflict(error))
        throw new RetryLaterError(`finalizers of ${tenant.metadata.name} changed meanwhile`);
      throw error;
    }
  }

  private async writeStatus(tenant: ScimTenant, status: ScimTenantStatus): Promise<void> {
    if (sameStatus(tenant.status, status)) return;
    const previousReady = findCondition(tenant.status?.conditions, 'Ready');
    const ready = findCondition(status.conditions, 'Ready');
    const removed = Object.fromEntries(
      Object.keys(tenant.status ?? {})
        .filter((k) => !(k in status))
        .map((k) => [k, null]),
    );
    try {
      await this.o.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: tenant.metadata.namespace,
          plural: PLURAL,
          name: tenant.metadata.name,
          body: { status: { ...removed, ...status } },
          fieldManager: FIELD_MANAGER,
        },
        mergePatch,
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (ready && (previousReady?.status !== ready.status || previousReady?.reason !== ready.reason)) {
      this.o.logger.info(
        {
          tenant: `${tenant.metadata.namespace}/${tenant.metadata.name}`,
          ready: ready.status,
          reason: ready.reason,
        },
        'ready changed',
      );
      if (ready.status !== 'True' && ready.reason !== 'TokenRevoked')
        await this.o.events.record(tenant, 'Warning', ready.reason, ready.message);
      else if (ready.status === 'True') await this.o.events.record(tenant, 'Normal', 'Ready', ready.message);
    }
  }
}

/** What the controller controls in a generated Secret: equal digests mean an event carries nothing new. */
export function secretDigest(secret: V1Secret): string {
  const m = secret.metadata;
  return createHash('sha256')
    .update(
      JSON.stringify([
        Object.entries(secret.data ?? {}).sort(([a], [b]) => a.localeCompare(b)),
        m?.labels?.[LABEL_MANAGED_BY] ?? null,
        m?.labels?.[LABEL_TENANT] ?? null,
        m?.labels?.[LABEL_USE] ?? null,
        m?.annotations?.[ANNOTATION_ROTATION] ?? null,
        m?.annotations?.[ANNOTATION_TENANT_UID] ?? null,
        m?.annotations?.[ANNOTATION_FINGERPRINT] ?? null,
        m?.annotations?.[ANNOTATION_CLIENT_SECRET_FINGERPRINT] ?? null,
        (m?.ownerReferences ?? []).map((r) => r.uid),
      ]),
    )
    .digest('hex');
}

interface Refusal {
  reason: string;
  message: string;
}

function conflictWith(orgId: string, owner: OrganisationOwner): Refusal {
  return {
    reason: 'OrganisationConflict',
    message: `organisation ${orgId} is managed by ScimTenant ${owner.namespace}/${owner.name}; an organisation has one ScimTenant, so delete this one (organisationId cannot change)`,
  };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
