import type { AuditEventDocument } from '@scimbridge/store';

// The RFC 9967 form of a stored audit event: pure, shared by the worker (which signs and pushes it) and the drift
// report (which checks that every event an event stream should get was delivered to it).

/** Event streams' sink names carry this prefix, so they never share a delivery record with a webhook of the same name. */
export const EVENT_STREAM_SINK_PREFIX = 'events:';

/**
 * RFC 9967 ("SCIM Profile for Security Event Tokens", May 2026; its event URIs and payload rules are those of
 * draft-ietf-scim-events-16) event URIs this service emits. docs/worker.md "SCIM events" has the mapping table.
 */
export const SCIM_EVENT = {
  createNotice: 'urn:ietf:params:scim:event:prov:create:notice',
  putNotice: 'urn:ietf:params:scim:event:prov:put:notice',
  patchNotice: 'urn:ietf:params:scim:event:prov:patch:notice',
  patchFull: 'urn:ietf:params:scim:event:prov:patch:full',
  delete: 'urn:ietf:params:scim:event:prov:delete',
  activate: 'urn:ietf:params:scim:event:prov:activate',
  deactivate: 'urn:ietf:params:scim:event:prov:deactivate',
} as const;

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

/**
 * The member delta of a group change as the PATCH that makes it (RFC 7644 §3.5.2): ids only, which is all the
 * event records. Undefined when the event does not carry the complete delta (see the api's groups policy).
 */
function memberPatch(event: AuditEventDocument): Record<string, unknown> | undefined {
  const added = stringList(event.details?.membersAdded);
  const removed = stringList(event.details?.membersRemoved);
  if (!added || !removed || event.details?.membersTruncated === true) return undefined;
  if (added.length === 0 && removed.length === 0) return undefined;
  return {
    schemas: [PATCH_OP],
    Operations: [
      ...(added.length ? [{ op: 'add', path: 'members', value: added.map((value) => ({ value })) }] : []),
      ...removed.map((id) => ({ op: 'remove', path: `members[value eq ${JSON.stringify(id)}]` })),
    ],
  };
}

/**
 * The RFC 9967 events of one audit event, or null for events that are not a provisioning change of a SCIM
 * resource (authentication failures, `user.linked`, which the host application did). Notice events name the
 * changed attributes and never carry their values: a receiver that needs them reads the resource with the
 * organisation's SCIM credentials. A group change of members only is the one `full` event: its data is the
 * member delta as a PatchOp (ids).
 */
export function scimEventsOf(event: AuditEventDocument): Record<string, Record<string, unknown>> | null {
  if (!event.resourceType || !event.resourceId) return null;
  const verb = event.action.slice(event.action.lastIndexOf('.') + 1);
  const attributes = event.changedAttributes ?? [];
  const update = event.details?.operation === 'put' ? SCIM_EVENT.putNotice : SCIM_EVENT.patchNotice;
  if (event.action === 'group.members.changed') {
    const data = memberPatch(event);
    return data
      ? { [SCIM_EVENT.patchFull]: { data } }
      : { [update]: { attributes: attributes.length ? attributes : ['members'] } };
  }
  switch (verb) {
    case 'created':
      return { [SCIM_EVENT.createNotice]: { attributes } };
    case 'updated':
      return { [update]: { attributes } };
    case 'deactivated':
      return { [SCIM_EVENT.deactivate]: {}, [update]: { attributes } };
    case 'reactivated':
      return { [SCIM_EVENT.activate]: {}, [update]: { attributes } };
    case 'deleted':
      return { [SCIM_EVENT.delete]: {} };
    default:
      return null;
  }
}
