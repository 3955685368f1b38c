import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { defaultOrganisationSettings } from '@scimbridge/tenancy';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ScimTenantSpec } from '../src/api/scim-tenant.js';
import {
  applyCrd,
  createTenant,
  freshNamespace,
  getTenant,
  kubeClients,
  patchTenantSpec,
  rejectionMessage,
  tenantManifest,
} from './kube.js';

const run = promisify(execFile);
const kubectl = existsSync('/usr/lib/google-cloud-sdk/bin/kubectl.1.33')
  ? '/usr/lib/google-cloud-sdk/bin/kubectl.1.33'
  : 'kubectl';
const kube = kubeClients(inject('kubeconfig'));
let namespace: string;
let n = 0;

beforeAll(async () => {
  await applyCrd(kube.kc);
  namespace = await freshNamespace(kube.core, 'crd');
});
afterAll(async () => {
  await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const minimal: ScimTenantSpec = { organisationId: 'org-1', displayName: 'Acme' };

async function rejection(spec: unknown): Promise<string> {
  try {
    await createTenant(kube, tenantManifest(namespace, `bad-${n++}`, spec as ScimTenantSpec));
  } catch (error) {
    expect((error as { code?: number }).code).toBe(422);
    return rejectionMessage(error);
  }
  throw new Error('the apiserver accepted an invalid ScimTenant');
}

describe('ScimTenant CRD (validated by the real apiserver)', () => {
  it("accepts a minimal tenant and fills in the documented defaults, the settings' ones tenancy's", async () => {
    const created = await createTenant(kube, tenantManifest(namespace, 'minimal', minimal));
    const defaults = defaultOrganisationSettings('Acme');
    expect(created.spec).toEqual({
      organisationId: 'org-1',
      displayName: 'Acme',
      adoptExistingOrganisation: false,
      enabled: defaults.enabled,
      paused: defaults.paused,
      plan: { scimIncluded: defaults.plan.scimIncluded },
      defaultGroup: '',
      rateLimit: defaults.rateLimit,
      authentication: {
        bearerToken: defaults.authentication.bearerToken,
        // The settings' two, and the controller's client Secret fields (no federation unless set).
        clientCredentials: {
          ...defaults.authentication.clientCredentials,
          rotation: 0,
          previousSecretValidForSeconds: 0,
        },
      },
      token: { rotation: 0, revoked: false, deletionPolicy: 'Retain', previousTokenValidForSeconds: 0 },
      audit: { webhooks: [], eventStreams: [] },
    });
  });

  it('rejects missing required fields and out-of-bounds values with the field path', async () => {
    expect(await rejection({ displayName: 'x' })).toContain('spec.organisationId: Required value');
    expect(await rejection({ ...minimal, organisationId: 'has spaces' })).toMatch(
      /spec\.organisationId: Invalid value: .*should match/,
    );
    expect(await rejection({ ...minimal, plan: { userLimit: -1 } })).toContain(
      'spec.plan.userLimit: Invalid value: -1: spec.plan.userLimit in body should be greater than or equal to 0',
    );
    expect(await rejection({ ...minimal, token: { deletionPolicy: 'Orphan' } })).toContain(
      'spec.token.deletionPolicy: Unsupported value: "Orphan": supported values: "Delete", "Retain"',
    );
    expect(await rejection({ ...minimal, displayName: 'x'.repeat(201) })).toContain(
      'spec.displayName: Too long',
    );
    expect(
      await rejection({
        ...minimal,
        authentication: { clientCredentials: { accessTokenLifetimeSeconds: 60 } },
      }),
    ).toContain('spec.authentication.clientCredentials.accessTokenLifetimeSeconds: Invalid value: 60');
    expect(
      await rejection({
        ...minimal,
        authentication: { federation: { issuer: 'https://idp.example', subject: 's', audience: 'a' } },
      }),
    ).toContain('spec.authentication.federation.jwksUrl: Required value');
    expect(
      await rejection({
        ...minimal,
        audit: { eventStreams: [{ name: 'siem', url: 'https://siem.example.com/set' }] },
      }),
    ).toContain('spec.audit.eventStreams[0].audience: Required value');
    expect(
      await rejection({
        ...minimal,
        audit: {
          eventStreams: Array.from({ length: 11 }, (_, i) => ({
            name: `s${i}`,
            url: 'https://siem.example.com/set',
            audience: 'a',
          })),
        },
      }),
    ).toContain('spec.audit.eventStreams: Too many');
    expect(await rejection({ ...minimal, token: { previousTokenValidForSeconds: -1 } })).toContain(
      'spec.token.previousTokenValidForSeconds: Invalid value: -1',
    );
  });

  it('rejects contradicting fields through CEL rules with messages a person can act on', async () => {
    expect(
      await rejection({ ...minimal, token: { secretName: 'a', existingSecretRef: { name: 'b' } } }),
    ).toContain('set either token.secretName (a generated token) or token.existingSecretRef');
    expect(
      await rejection({ ...minimal, token: { existingSecretRef: { name: 'b' }, deletionPolicy: 'Delete' } }),
    ).toContain('token.deletionPolicy must be Retain with token.existingSecretRef');
    expect(await rejection({ ...minimal, rateLimit: { requestsPerSecond: 100, burst: 10 } })).toContain(
      'rateLimit.burst must be at least rateLimit.requestsPerSecond',
    );
    expect(
      await rejection({
        ...minimal,
        audit: { webhooks: [{ name: 'siem', url: 'not a url', secretRef: { name: 's' } }] },
      }),
    ).toContain('audit webhook url must be an absolute http(s) URL');
    expect(
      await rejection({
        ...minimal,
        audit: { eventStreams: [{ name: 'siem', url: 'siem.example.com/set', audience: 'a' }] },
      }),
    ).toContain('audit event stream url must be an absolute http(s) URL');
    expect(
      await rejection({
        ...minimal,
        authentication: {
          federation: { issuer: 'https://idp.example', subject: 's', audience: 'a', jwksUrl: 'keys.json' },
        },
      }),
    ).toContain('authentication.federation.jwksUrl must be an absolute http(s) URL');
  });

  it('keeps organisationId immutable and token.rotation and clientCredentials.rotation monotonic', async () => {
    await createTenant(kube, tenantManifest(namespace, 'immutable', minimal));
    const changeOrg = await patchTenantSpec(kube, namespace, 'immutable', { organisationId: 'org-2' }).catch(
      (e: unknown) => e,
    );
    expect(rejectionMessage(changeOrg)).toContain(
      'organisationId is immutable; create a new ScimTenant for another organisation',
    );
    await patchTenantSpec(kube, namespace, 'immutable', { token: { rotation: 2 } });
    const backwards = await patchTenantSpec(kube, namespace, 'immutable', { token: { rotation: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(rejectionMessage(backwards)).toContain('token.rotation can only increase');
    expect((await getTenant(kube, namespace, 'immutable')).spec.token?.rotation).toBe(2);
    await patchTenantSpec(kube, namespace, 'immutable', {
      authentication: { clientCredentials: { rotation: 3 } },
    });
    const secretBackwards = await patchTenantSpec(kube, namespace, 'immutable', {
      authentication: { clientCredentials: { rotation: 2 } },
    }).catch((e: unknown) => e);
    expect(rejectionMessage(secretBackwards)).toContain(
      'authentication.clientCredentials.rotation can only increase',
    );
  });

  it('serves the printer columns, short name and category kubectl shows', async () => {
    const { stdout } = await run(kubectl, [
      `--kubeconfig=${inject('kubeconfig')}`,
      'get',
      'scim',
      '-n',
      namespace,
    ]);
    const header = stdout
      .split('\n')[0]!
      .trim()
      .split(/\s{2,}/);
    expect(header).toEqual([
      'NAME',
      'READY',
      'REASON',
      'PAUSED',
      'ORGANISATION',
      'USERS',
      'TOKEN AGE',
      'AGE',
    ]);
    expect(stdout).toMatch(/minimal\s+false\s+org-1/);
    const short = await run(kubectl, [
      `--kubeconfig=${inject('kubeconfig')}`,
      'get',
      'scimt',
      '-n',
      namespace,
    ]);
    expect(short.stdout).toContain('immutable');
  });
});
