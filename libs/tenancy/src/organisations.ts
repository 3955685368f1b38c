import { keyFieldName, normaliseKey } from '@scimbridge/scim-core';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { publishOrganisationChange } from './broadcast.js';
import { tenancyCollections, type OrganisationDocument } from './collections.js';
import { organisationIdSchema, parseOrganisationSettings, type OrganisationSettings } from './settings.js';

export interface Organisation {
  id: string;
  settings: OrganisationSettings;
  deleting: boolean;
  createdAt: Date;
  updatedAt: Date;
}

function toOrganisation(doc: OrganisationDocument): Organisation {
  return {
    id: doc._id,
    settings: parseOrganisationSettings(doc.settings),
    deleting: doc.deleting === true,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/**
 * Creates or updates an organisation with validated settings (idempotent) and tells every api replica.
 * Applying settings clears `deleting`: a re-created tenant provisions again.
 */
export async function applyOrganisation(
  connection: Connection,
  orgId: string,
  input: unknown,
  redis?: Redis,
): Promise<Organisation> {
  organisationIdSchema.parse(orgId);
  const settings = parseOrganisationSettings(input);
  const now = new Date();
  const { organisations } = tenancyCollections(connection);
  await organisations.updateOne(
    { _id: orgId },
    {
      $set: { displayName: settings.displayName, settings, deleting: false, updatedAt: now },
      $setOnInsert: { createdAt: now },
    },
    { upsert: true },
  );
  if (redis) await publishOrganisationChange(connection, redis, orgId);
  const stored = await getOrganisation(connection, orgId);
  if (!stored) throw new Error(`organisation ${orgId} vanished after it was applied`);
  return stored;
}

export async function getOrganisation(connection: Connection, orgId: string): Promise<Organisation | null> {
  const doc = await tenancyCollections(connection).organisations.findOne({ _id: orgId });
  return doc ? toOrganisation(doc) : null;
}

/** Stops provisioning (403 for its tokens) while keeping its users and groups. */
export async function disableOrganisation(
  connection: Connection,
  orgId: string,
  redis?: Redis,
): Promise<void> {
  await tenancyCollections(connection).organisations.updateOne(
    { _id: orgId },
    { $set: { 'settings.enabled': false, updatedAt: new Date() } },
  );
  if (redis) await publishOrganisationChange(connection, redis, orgId);
}

/** Marks an organisation as being deleted: every SCIM request for it gets 403 until settings are applied again. */
export async function setOrganisationDeleting(
  connection: Connection,
  orgId: string,
  deleting: boolean,
  redis?: Redis,
): Promise<void> {
  await tenancyCollections(connection).organisations.updateOne(
    { _id: orgId },
    { $set: { deleting, updatedAt: new Date() } },
  );
  if (redis) await publishOrganisationChange(connection, redis, orgId);
}

/** SCIM-visible users (managed, not deleted) and groups, as reported in the ScimTenant status. */
export async function countUsersAndGroups(
  connection: Connection,
  orgId: string,
): Promise<{ users: number; groups: number }> {
  const [users, groups] = await Promise.all([
    connection.collection('users').countDocuments({ orgId, 'scim.managed': true, 'scim.deletedAt': null }),
    connection.collection('groups').countDocuments({ orgId }),
  ]);
  return { users, groups };
}

/** Whether a group with this displayName exists, compared case-insensitively as SCIM does. */
export async function groupExists(
  connection: Connection,
  orgId: string,
  displayName: string,
): Promise<boolean> {
  const found = await connection
    .collection('groups')
    .findOne({ orgId, [keyFieldName('displayName')]: normaliseKey(displayName) }, { projection: { _id: 1 } });
  return found !== null;
}

export type AccessDenial = 'scim-not-in-plan' | 'scim-disabled' | 'organisation-deleting';

/** Why an authenticated organisation may not provision, or null; the api turns each into a 403. */
export function accessDenial(organisation: Organisation): AccessDenial | null {
  if (organisation.deleting) return 'organisation-deleting';
  if (!organisation.settings.plan.scimIncluded) return 'scim-not-in-plan';
  if (!organisation.settings.enabled) return 'scim-disabled';
  return null;
}
