import {
  getOrganisation,
  organisationSettingsSchema,
  publishOrganisationChange,
  tenancyCollections,
  type Organisation,
  type OrganisationSettings,
} from '@scimbridge/tenancy';
import { z } from 'zod';
import { forceOption, refuseIfManagedByKubernetes } from './managed.js';
import type { Session } from './session.js';

export { forceOption };

/** An organisation that must exist for the command to make sense. */
export async function requireOrganisation(session: Session, orgId: string): Promise<Organisation> {
  const organisation = await getOrganisation(await session.mongo(), orgId);
  if (!organisation) throw new Error(`organisation ${orgId} not found; apply its settings first`);
  return organisation;
}

/**
 * Changes part of an organisation's settings: refused for a ScimTenant's organisation (naming `field`), the result
 * validated with the settings schema (a bad value changes nothing), written only if nobody changed the settings
 * since they were read (a concurrent `apply` is not undone), then broadcast so every api replica re-reads them at
 * once. Unlike `apply` it leaves `deleting` alone.
 */
export async function editSettings(
  session: Session,
  orgId: string,
  options: { force?: boolean; field: string },
  edit: (settings: OrganisationSettings) => unknown,
): Promise<{ before: OrganisationSettings; after: OrganisationSettings }> {
  const connection = await session.mongo();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const organisation = await requireOrganisation(session, orgId);
    await refuseIfManagedByKubernetes(connection, orgId, options.force, options.field);
    const before = organisation.settings;
    const parsed = organisationSettingsSchema.safeParse(edit(structuredClone(before)));
    if (!parsed.success) throw new Error(`invalid settings: ${z.prettifyError(parsed.error)}`);
    const after = parsed.data;
    const { matchedCount } = await tenancyCollections(connection).organisations.updateOne(
      { _id: orgId, updatedAt: organisation.updatedAt },
      { $set: { displayName: after.displayName, settings: after, updatedAt: new Date() } },
    );
    if (matchedCount === 0) continue;
    await publishOrganisationChange(connection, await session.pubsub(), orgId);
    return { before, after };
  }
  throw new Error(`the settings of ${orgId} keep changing; try again`);
}
