import type { Connection } from 'mongoose';
import { isDuplicateKey } from './collections.js';

/** The one declaration (a Kubernetes ScimTenant) that manages an organisation. */
export interface OrganisationOwner {
  /** metadata.uid: a re-created resource with the same name is another owner. */
  uid: string;
  namespace: string;
  name: string;
}

interface ClaimDocument extends OrganisationOwner {
  _id: string;
  claimedAt: Date;
}

const claims = (connection: Connection) => connection.collection<ClaimDocument>('organisation_claims');

/**
 * Claims the organisation for `owner` unless another owner holds it, and returns the holder. A unique insert on
 * `_id = orgId` decides, atomically on MongoDB and FerretDB alike, so two ScimTenants with the same
 * organisationId — copied to a second namespace, say — cannot both write its settings and tokens.
 */
export async function claimOrganisation(
  connection: Connection,
  orgId: string,
  owner: OrganisationOwner,
): Promise<OrganisationOwner> {
  // Read first: every reconcile of the owner claims again, and the claim is usually there already.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const holder = await organisationOwner(connection, orgId);
    if (holder) return holder;
    try {
      await claims(connection).insertOne({ _id: orgId, ...owner, claimedAt: new Date() });
      return owner;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error; // claimed meanwhile: read the winner
    }
  }
  throw new Error(`the claim on organisation ${orgId} keeps changing`);
}

export async function organisationOwner(
  connection: Connection,
  orgId: string,
): Promise<OrganisationOwner | undefined> {
  const doc = await claims(connection).findOne({ _id: orgId });
  return doc ? { uid: doc.uid, namespace: doc.namespace, name: doc.name } : undefined;
}

/** Releases the claim if `uid` holds it (a deleted owner); another holder's claim is left alone. */
export async function releaseOrganisationClaim(
  connection: Connection,
  orgId: string,
  uid: string,
): Promise<void> {
  await claims(connection).deleteOne({ _id: orgId, uid });
}
