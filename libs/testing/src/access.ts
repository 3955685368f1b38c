import { Agent, request } from 'node:https';

/** Every verb RBAC knows for resources, so a check of "exactly these rights" cannot miss one. */
export const ACCESS_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
];

/** `[apiGroup, resource or resource/subresource]` */
export type AccessResource = readonly [group: string, resource: string];

/** An RBAC rule as written in a Role or ClusterRole. */
export interface AccessRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The rights a set of rules grants, as sorted `group/resource:verb` strings. */
export function rightsOfRules(rules: readonly AccessRule[]): string[] {
  const rights = rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)),
    ),
  );
  return [...new Set(rights)].sort();
}

const insecureAgent = new Agent({ rejectUnauthorized: false });

function subjectAccessReview(server: string, token: string, body: unknown): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}/apis/authorization.k8s.io/v1/subjectaccessreviews`,
      {
        method: 'POST',
        agent: insecureAgent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== 201)
            return reject(new Error(`SubjectAccessReview: ${res.statusCode} ${text}`));
          resolve((JSON.parse(text) as { status?: { allowed?: boolean } }).status?.allowed === true);
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(body));
  });
}

/**
 * What a service account (`namespace/name`) may do to these resources in `namespace` (undefined: cluster-wide),
 * every verb asked by SubjectAccessReview with an admin token; sorted `group/resource:verb` strings.
 */
export async function serviceAccountRights(
  api: { server: string; token: string },
  serviceAccount: string,
  namespace: string | undefined,
  resources: readonly AccessResource[],
): Promise<string[]> {
  const [saNamespace, name] = serviceAccount.split('/') as [string, string];
  const checks = resources.flatMap(([group, resource]) =>
    ACCESS_VERBS.map((verb) => ({ group, resource, verb })),
  );
  const allowed = await Promise.all(
    checks.map(async ({ group, resource, verb }) => {
      const [plural, subresource] = resource.split('/');
      const granted = await subjectAccessReview(api.server, api.token, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${saNamespace}:${name}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${saNamespace}`, 'system:authenticated'],
          resourceAttributes: { group, resource: plural, subresource, verb, namespace },
        },
      });
      return granted ? `${group}/${resource}:${verb}` : undefined;
    }),
  );
  return allowed.filter((r): r is string => r !== undefined).sort();
}
