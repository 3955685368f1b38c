import type { MemberRef, MembershipDelta } from '../resource/types.js';

/**
 * Accumulates the membership effect of a PATCH's operations, in order, as one set delta (interop table #22:
 * the store applies inserts/deletes atomically instead of rewriting an array). When the caller supplied the
 * current members, a virtual member list is kept too, so filters on `display`/`type` can be evaluated.
 */
export class MembershipChanges {
  private replacement: Map<string, MemberRef> | undefined;
  private readonly added = new Map<string, MemberRef>();
  private readonly removed = new Set<string>();
  private readonly virtual: Map<string, MemberRef> | undefined;
  private touched = false;

  constructor(current: readonly MemberRef[] | undefined) {
    this.virtual = current ? new Map(current.map((m) => [m.value, m])) : undefined;
  }

  /** The members as they stand after the operations so far, if the caller supplied the starting list. */
  get currentMembers(): MemberRef[] | undefined {
    return this.virtual ? [...this.virtual.values()] : undefined;
  }

  add(members: readonly MemberRef[]): void {
    this.touched = true;
    for (const member of members) {
      this.virtual?.set(member.value, member);
      if (this.replacement) {
        this.replacement.set(member.value, member);
      } else {
        this.removed.delete(member.value);
        this.added.set(member.value, member);
      }
    }
  }

  remove(ids: readonly string[]): void {
    this.touched = true;
    for (const id of ids) {
      this.virtual?.delete(id);
      if (this.replacement) {
        this.replacement.delete(id);
      } else {
        this.added.delete(id);
        this.removed.add(id);
      }
    }
  }

  replaceAll(members: readonly MemberRef[]): void {
    this.touched = true;
    this.replacement = new Map(members.map((m) => [m.value, m]));
    this.added.clear();
    this.removed.clear();
    if (this.virtual) {
      this.virtual.clear();
      for (const member of members) this.virtual.set(member.value, member);
    }
  }

  /** Undefined when no operation touched the members. */
  toDelta(): MembershipDelta | undefined {
    if (!this.touched) return undefined;
    if (this.replacement) return { add: [], remove: [], replaceAll: [...this.replacement.values()] };
    return { add: [...this.added.values()], remove: [...this.removed] };
  }
}
