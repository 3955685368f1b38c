import type { StoredResource } from '@scimbridge/scim-core';

/** SCIM state of an account (docs/contracts.md `users`). Visible to SCIM iff `managed && !deletedAt`. */
export interface UserScimState {
  managed: boolean;
  externalId?: string;
  provisionedAt?: Date;
  linkedAt?: Date;
  linkedBy?: string;
  deletedAt?: Date | null;
}

/** How the account signs in; SCIM-provisioned accounts are SSO-only and never have a password. */
export interface UserAuthState {
  ssoOnly: boolean;
  passwordHash?: string;
}

/** The host application's account: scim-core's stored User shape plus organisation and account state. */
export interface UserDocument extends StoredResource {
  orgId: string;
  /** Pending change records (docs/contracts.md "Outbox"); absent or empty once completed. */
  outbox?: OutboxEntry[];
  scim: UserScimState;
  auth: UserAuthState;
}

export interface GroupDocument extends StoredResource {
  orgId: string;
  outbox?: OutboxEntry[];
  /** Set by DELETE in the same write as its outbox entry; the document is removed once the entry completes. */
  deletedAt?: Date | null;
}

/** One member of one group; `_id` = `${groupId}:${memberId}` makes a duplicate add a no-op on every server. */
export interface MembershipDocument {
  _id: string;
  orgId: string;
  groupId: string;
  memberId: string;
  memberType: 'User' | 'Group';
  /** The member's display name when it was added (RFC 7643 §4.2 `display`), so listing members needs no join. */
  display?: string;
  addedAt: Date;
}

export type AuditAction =
  | 'user.created'
  | 'user.linked'
  | 'user.updated'
  | 'user.deactivated'
  | 'user.reactivated'
  | 'user.deleted'
  | 'group.created'
  | 'group.updated'
  | 'group.members.changed'
  | 'group.deleted'
  | 'auth.failed'
  /** Resource types registered later (docs/api.md "Adding a resource type"): `<type>.created` and so on. */
  | `${Lowercase<string>}.${'created' | 'updated' | 'deleted'}`;

export type AuditActor = { type: 'token'; id: string } | { type: 'system'; id: string };

/** The outbox row the worker fans out; never contains passwords or tokens. */
export interface AuditEventDocument {
  _id: string;
  orgId: string;
  action: AuditAction;
  actor: AuditActor;
  /** The resource type's id (`User`, `Group`, or one registered later); null for events about no resource. */
  resourceType: string | null;
  resourceId: string | null;
  changedAttributes: string[];
  requestId: string | null;
  traceId: string | null;
  occurredAt: Date;
  dispatchedAt: Date | null;
  details?: Record<string, unknown>;
}

/** A member the api has checked exists in the group's organisation. */
export interface ResolvedMember {
  id: string;
  type: 'User' | 'Group';
  display?: string;
}

/**
 * What a committed change still has to do outside its own document, each step idempotent so that the writer, a
 * later writer of the same resource and the relay may all run it (docs/contracts.md "Outbox"):
 * - `members.add` / `members.remove` / `members.replace`: membership rows of one group (keyed inserts, deletes);
 * - `member.leave`: a deleted user leaves every group (and those groups' versions move on);
 * - `group.delete`: a deleted group's rows, both as group and as member;
 * - `document.delete`: the written document itself, last (a DELETE marks it deleted in the write, then removes it).
 */
export type OutboxEffect =
  | { kind: 'members.add'; groupId: string; members: ResolvedMember[] }
  | { kind: 'members.remove'; groupId: string; memberIds: string[] }
  | { kind: 'members.replace'; groupId: string; members: ResolvedMember[] }
  | { kind: 'member.leave'; memberId: string }
  | { kind: 'group.delete'; groupId: string }
  | { kind: 'document.delete' };

/**
 * One pending change record, written in the same single-document write as the change itself (the resource's
 * `outbox` array): the change and the record that it happened cannot be separated. Completing it applies its
 * effects, stores `event` in `audit_events` (insert by id: a second insert is a no-op) and removes the entry
 * (or, for `document.delete`, the document).
 */
export interface OutboxEntry {
  id: string;
  at: Date;
  /** The process that wrote it (one id per `Outbox`): another process leaves a young entry to its writer. */
  writer: string;
  event: AuditEventDocument;
  effects: OutboxEffect[];
}

/** One side effect that ran: `_id` is `<effect>:<event id>`. */
export interface AppliedEffectDocument {
  _id: string;
  orgId: string;
  effect: string;
  eventId: string;
  at: Date;
}
