import { organisationOwner } from '@scimbridge/tenancy';
import { Option } from 'commander';
import type { Connection } from 'mongoose';

/**
 * An organisation a ScimTenant manages is changed through that resource: the controller would overwrite settings
 * applied here on its next reconcile, and a token minted here would replace the one in the tenant's Secret.
 * `field` names the part of the spec that does what the refused command would have done. `--force` is for when
 * the cluster is gone.
 */
export async function refuseIfManagedByKubernetes(
  connection: Connection,
  orgId: string,
  force: boolean | undefined,
  field?: string,
) {
  const owner = await organisationOwner(connection, orgId);
  if (owner && !force)
    throw new Error(
      `organisation ${orgId} is managed by ScimTenant ${owner.namespace}/${owner.name}; change ${field ? `${field} ` : 'it '}there (kubectl -n ${owner.namespace} edit scimtenant ${owner.name}), or pass --force`,
    );
}

export const forceOption = () =>
  new Option('--force', 'act even though a Kubernetes ScimTenant manages the organisation');
