import { readFile } from 'node:fs/promises';
import {
  organisationIdSchema,
  parseOrganisationSettings,
  type OrganisationSettings,
} from '@scimbridge/tenancy';
import { parseAllDocuments } from 'yaml';

export interface TenantFile {
  orgId: string;
  settings: OrganisationSettings;
  /** Fields of the ScimTenant spec that only the controller acts on (token and client secret rotation, Secrets). */
  ignored: string[];
}

type Spec = Record<string, unknown>;

const CONTROLLER_CLIENT_FIELDS = ['secretName', 'rotation', 'previousSecretValidForSeconds'];

/**
 * Reads a ScimTenant manifest (YAML or JSON; the first `kind: ScimTenant` document) or a bare spec.
 * Webhook secrets must be inline (`secret`), and event streams' Authorization values (`authorization`): without
 * Kubernetes there is no Secret to reference.
 */
export async function readTenantFile(path: string): Promise<TenantFile> {
  const text = await readFile(path, 'utf8');
  const documents = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  const manifest = documents.find((d) => isObject(d) && d.kind === 'ScimTenant') ?? documents[0];
  if (!isObject(manifest)) throw new Error(`${path}: expected a ScimTenant manifest or its spec`);
  const spec: Spec = isObject(manifest.spec) ? manifest.spec : manifest;
  const orgId = organisationIdSchema.parse(spec.organisationId);
  const ignored = ['token'].filter((key) => key in spec);
  // The client's Secret and its rotation are the controller's; without Kubernetes, `scimctl client` does them.
  const authentication = isObject(spec.authentication) ? spec.authentication : undefined;
  const clientCredentials = isObject(authentication?.clientCredentials)
    ? authentication.clientCredentials
    : {};
  for (const key of CONTROLLER_CLIENT_FIELDS)
    if (key in clientCredentials) ignored.push(`authentication.clientCredentials.${key}`);
  const audit = isObject(spec.audit) ? spec.audit : undefined;
  const webhooks = Array.isArray(audit?.webhooks) ? (audit.webhooks as unknown[]) : [];
  for (const [index, hook] of webhooks.entries()) {
    if (isObject(hook) && hook.secret === undefined && hook.secretRef !== undefined)
      throw new Error(
        `${path}: audit.webhooks[${index}].secretRef needs Kubernetes; give the HMAC secret inline as "secret"`,
      );
  }
  const streams = Array.isArray(audit?.eventStreams) ? (audit.eventStreams as unknown[]) : [];
  for (const [index, stream] of streams.entries()) {
    if (isObject(stream) && stream.authorization === undefined && stream.authorizationSecretRef !== undefined)
      throw new Error(
        `${path}: audit.eventStreams[${index}].authorizationSecretRef needs Kubernetes; give the header value inline as "authorization"`,
      );
  }
  const { organisationId: _id, token: _token, ...settings } = spec;
  return { orgId, settings: parseOrganisationSettings(settings), ignored };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
