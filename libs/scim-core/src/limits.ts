/**
 * The cost model of a request (docs/api.md "Limits"): figures decided before the work starts, so that no filter or
 * PATCH an organisation sends can cost the service more than these bound. The api reads them from its environment.
 */
export interface FilterLimits {
  /** Attribute expressions (`userName eq "x"`, `members pr`, each term inside `emails[...]`) in one filter. */
  maxTerms: number;
  /**
   * Distinct look-ups of attributes held outside the resource document (Group `members`, User `groups`) that one
   * filter may need; identical sub-filters count once.
   */
  maxMembershipLookups: number;
  /** Membership rows one look-up may read before the filter is refused as too broad. */
  maxMembershipRows: number;
}

export interface PatchLimits {
  /** Operations in one PATCH request. */
  maxOperations: number;
  /** Values in one operation's `value` (elements of a multi-valued attribute, or attributes of a no-path value). */
  maxValuesPerOperation: number;
  /**
   * Values a multi-valued attribute (e.g. `emails`, `entitlements`) may hold after a write; an operation that
   * brings more values than this is refused before any work. IdPs send a handful; 1 000 leaves room for roles.
   */
  maxAttributeValues: number;
  /** Group members added or removed by one request (PATCH or PUT); Entra and Okta send at most a few hundred. */
  maxMemberChanges: number;
  /**
   * Values of multi-valued attributes one PATCH may visit, summed over its operations: each filtered operation
   * (`emails[type eq "work"].value`, `members[display eq "x"]`) visits every current value, a removal by value
   * list every current value once. Appends cost only what they add. Keeps the worst PATCH in milliseconds.
   */
  maxValueVisits: number;
  /** A member filter that cannot be reduced to ids is refused on a group with more members than this. */
  maxMembersForFilter: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = {
  maxTerms: 100,
  maxMembershipLookups: 4,
  maxMembershipRows: 10_000,
};

export const DEFAULT_PATCH_LIMITS: PatchLimits = {
  maxOperations: 1_000,
  maxValuesPerOperation: 10_000,
  maxAttributeValues: 1_000,
  maxMemberChanges: 20_000,
  maxValueVisits: 100_000,
  maxMembersForFilter: 10_000,
};
