/** Schema and message URNs of RFC 7643 §8.7 and RFC 7644 §3. */
export const URN = {
  User: 'urn:ietf:params:scim:schemas:core:2.0:User',
  Group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  EnterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  Schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  ResourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  ServiceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  ListResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  SearchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  PatchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  BulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  BulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  Error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** RFC 7643 §2.1 / §3: attribute names and schema URIs are compared case-insensitively. */
export function sameUrn(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}
