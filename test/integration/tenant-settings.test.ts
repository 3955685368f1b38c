// One ScimTenant spec, the two ways into MongoDB: the controller reconciling the resource from the apiserver
// (the CRD's defaulting, then the reconcile) and `scimctl apply -f` of the same manifest (tenancy's schema). Each
// writes a database of its own; the organisation settings they store must be identical, so a default that
// drifts between the CRD, the controller and tenancy fails here.
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@scimbridge/scimctl';
import { defaultOrganisationSettings } from '@scimbridge/tenancy';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScimTenantSpec } from '../../apps/scim-controller/src/api/scim-tenant.js';
import {
  startTestController,
  waitForReady,
  type TestController,
} from '../../apps/scim-controller/test/harness.js';
import {
  applyCrd,
  createTenant,
  freshNamespace,
  kubeClients,
  tenantManifest,
} from '../../apps/scim-controller/test/kube.js';

const run = randomUUID().slice(0, 8);
const kube = kubeClients(inject('kubeconfig'));
let namespace: string;
let controller: TestController;
let scimctlUri: string;
let scimctlDb: Connection;
let dir: string;

beforeAll(async () => {
  await applyCrd(kube.kc);
  namespace = await freshNamespace(kube.core, 'settings');
  controller = await startTestController(kube, {
    namespace,
    mongoUri: inject('mongodbUri'),
    redisUrl: inject('redisUrl'),
    database: `settings_ctl_${run}`,
  });
  const url = new URL(inject('mongodbUri'));
  url.pathname = `/settings_cli_${run}`;
  scimctlUri = url.toString();
  scimctlDb = await mongoose.createConnection(scimctlUri).asPromise();
  dir = await mkdtemp(join(tmpdir(), 'tenant-settings-'));
});
afterAll(async () => {
  await controller?.stop();
  await scimctlDb?.dropDatabase();
  await scimctlDb?.close();
  await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

/** The webhook of the spec: by Secret reference for the controller, inline for scimctl (it has no Secrets). */
const webhook = { name: 'siem', url: 'https://siem.example.com/hook' };
const webhookKey = 'hmac-key-of-siem';
/** An RFC 9967 event stream: its Authorization value by Secret reference for the controller, inline for scimctl. */
const stream = { name: 'set', url: 'https://siem.example.com/set', audience: 'https://siem.example.com' };
const streamAuthorization = 'Bearer receiver-token';

const cases: {
  name: string;
  spec: Omit<ScimTenantSpec, 'organisationId' | 'audit'>;
  webhook?: boolean;
  ready: { status: 'True' | 'False'; reason?: string };
}[] = [
  { name: 'minimal', spec: { displayName: 'Minimal' }, ready: { status: 'True' } },
  {
    name: 'partial',
    spec: {
      displayName: 'Partial',
      plan: { userLimit: 10 },
      rateLimit: { requestsPerSecond: 20 },
      defaultGroup: '',
    },
    ready: { status: 'True' },
  },
  {
    name: 'full',
    spec: {
      displayName: 'Full',
      enabled: false,
      plan: { scimIncluded: false, userLimit: 5 },
      defaultGroup: 'Staff',
      rateLimit: { requestsPerSecond: 7, burst: 9 },
    },
    webhook: true,
    ready: { status: 'False', reason: 'DefaultGroupNotFound' },
  },
  {
    // The authentication modes and the pause; the client Secret's fields are the controller's and stay out of
    // the settings, as `scimctl apply` drops them too.
    name: 'auth',
    spec: {
      displayName: 'Auth',
      paused: true,
      token: { rotation: 1, previousTokenValidForSeconds: 30 },
      authentication: {
        bearerToken: { enabled: false },
        clientCredentials: {
          enabled: true,
          accessTokenLifetimeSeconds: 7200,
          secretName: 'auth-oauth',
          rotation: 2,
          previousSecretValidForSeconds: 60,
        },
        federation: {
          issuer: 'https://login.microsoftonline.com/tenant/v2.0',
          subject: 'workload-identity-object-id',
          audience: 'api://scimbridge',
          jwksUrl: 'https://login.microsoftonline.com/tenant/discovery/v2.0/keys',
        },
      },
    },
    ready: { status: 'False', reason: 'ProvisioningPaused' },
  },
  {
    name: 'auth-defaults',
    spec: { displayName: 'Auth defaults', authentication: { clientCredentials: { enabled: true } } },
    ready: { status: 'True' },
  },
];

async function viaController(name: string, spec: ScimTenantSpec, ready: (typeof cases)[number]['ready']) {
  await createTenant(kube, tenantManifest(namespace, name, spec));
  await waitForReady(kube, namespace, name, ready.status, ready.reason);
  return controller.connection.collection('organisations').findOne({ _id: spec.organisationId as never });
}

async function viaScimctl(name: string, spec: Record<string, unknown>) {
  const file = join(dir, `${name}.yaml`);
  const manifest = { apiVersion: 'scimbridge.io/v1alpha1', kind: 'ScimTenant', metadata: { name }, spec };
  await writeFile(file, JSON.stringify(manifest)); // JSON is YAML
  const err: string[] = [];
  const code = await runCli(['apply', '-f', file], {
    out: () => undefined,
    err: (text) => err.push(text),
    env: { MONGODB_URI: scimctlUri, REDIS_URL: inject('redisUrl') },
  });
  expect(code, err.join('\n')).toBe(0);
  return scimctlDb.collection('organisations').findOne({ _id: spec.organisationId as never });
}

describe('one ScimTenant spec through the controller and through scimctl apply', () => {
  it.each(cases)(
    'stores identical organisation settings: $name',
    async ({ name, spec, webhook: hook, ready }) => {
      const organisationId = `${name}-${run}`;
      if (hook)
        await kube.core.createNamespacedSecret({
          namespace,
          body: {
            metadata: { name: `${name}-siem-key`, labels: { 'scimbridge.io/use': 'webhook-key' } },
            stringData: { secret: webhookKey },
          },
        });
      if (hook)
        await kube.core.createNamespacedSecret({
          namespace,
          body: {
            metadata: { name: `${name}-set-auth`, labels: { 'scimbridge.io/use': 'event-stream-auth' } },
            stringData: { authorization: streamAuthorization },
          },
        });
      const fromController = await viaController(
        name,
        {
          organisationId,
          ...spec,
          ...(hook
            ? {
                audit: {
                  webhooks: [{ ...webhook, secretRef: { name: `${name}-siem-key` } }],
                  eventStreams: [
                    { ...stream, authorizationSecretRef: { name: `${name}-set-auth` } },
                    { ...stream, name: 'plain' },
                  ],
                },
              }
            : {}),
        },
        ready,
      );
      const fromScimctl = await viaScimctl(name, {
        organisationId,
        ...spec,
        ...(hook
          ? {
              audit: {
                webhooks: [{ ...webhook, secret: webhookKey }],
                eventStreams: [
                  { ...stream, authorization: streamAuthorization },
                  { ...stream, name: 'plain' },
                ],
              },
            }
          : {}),
      });
      if (hook)
        expect(fromController?.settings.audit.eventStreams).toEqual([
          { ...stream, authorization: streamAuthorization },
          { ...stream, name: 'plain', authorization: null },
        ]);

      expect(fromController?.settings).toBeDefined();
      expect(fromController?.settings).toEqual(fromScimctl?.settings);
      expect(fromController?.displayName).toBe(fromScimctl?.displayName);
      if (name === 'minimal') expect(fromScimctl?.settings).toEqual(defaultOrganisationSettings('Minimal'));
      if (name === 'auth') {
        expect(fromController?.settings).toMatchObject({
          paused: true,
          authentication: {
            bearerToken: { enabled: false },
            clientCredentials: { enabled: true, accessTokenLifetimeSeconds: 7200 },
          },
        });
        expect(JSON.stringify(fromController?.settings)).not.toMatch(/secretName|rotation|previous/);
      }
    },
  );
});
