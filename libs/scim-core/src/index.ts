// Public API of @scimbridge/scim-core: the pure SCIM 2.0 protocol core (RFC 7643 / RFC 7644 / RFC 9865).
// No I/O: values in, values out. See docs/scim-core.md.

export { URN, sameUrn } from './urns.js';
export {
  ScimError,
  isScimError,
  toScimErrorBody,
  invalidFilter,
  tooMany,
  uniqueness,
  mutability,
  invalidSyntax,
  invalidPath,
  noTarget,
  invalidValue,
  invalidVersion,
  sensitive,
  invalidCursor,
  expiredCursor,
  notFound,
  preconditionFailed,
  payloadTooLarge,
  limitExceeded,
  type RefusalReason,
  type ScimErrorType,
  type ScimErrorBody,
} from './errors.js';

export {
  defineAttribute,
  defineSchema,
  type AttributeDefinition,
  type AttributeInput,
  type AttributeType,
  type Mutability,
  type Returned,
  type SchemaDefinition,
  type SchemaInput,
  type Uniqueness,
} from './schema/types.js';
export { userSchema, groupSchema, enterpriseUserSchema } from './schema/core-schemas.js';
export {
  schemaMetaSchema,
  resourceTypeMetaSchema,
  serviceProviderConfigMetaSchema,
} from './schema/meta-schemas.js';
export {
  createRegistry,
  SchemaRegistry,
  ResourceType,
  type EndpointSource,
  type ExtensionBinding,
  type ResourceTypeInput,
} from './schema/registry.js';
export { resolveAttributePath, pathText, type ResolvedPath } from './schema/attribute-path.js';
export {
  renderSchema,
  renderSchemas,
  renderSchemaById,
  renderResourceType,
  renderResourceTypes,
  renderResourceTypeById,
  renderServiceProviderConfig,
  type ServiceProviderCapabilities,
} from './schema/discovery.js';

export { formatFilter, type FilterNode, type CompareOperator, type FilterLiteral } from './filter/ast.js';
export { parseFilter, type ParseFilterOptions } from './filter/parse.js';
export { compileFilter, type CompiledFilter } from './filter/compile.js';
export { evaluateFilter, evaluateCompiled } from './filter/evaluate.js';
export {
  filterToMongo,
  filterToMongoSync,
  compiledToMongo,
  escapeRegex,
  type MongoFilter,
  type MongoTranslation,
  type ExternalFilterRequest,
  type ExternalFilterResolver,
  type FilterToMongoOptions,
} from './filter/to-mongo.js';

export type { ScimResource, ScimMeta, MemberRef, MembershipDelta } from './resource/types.js';
export { validateCreate, validateReplace, type ValidatedResource } from './resource/validate.js';
export { normaliseKey, keyFieldName } from './stored/keys.js';
export {
  toStored,
  fromStored,
  type StoredResource,
  type StoredMeta,
  type StoredStamp,
  type FromStoredOptions,
  type ExternalRef,
  type GroupRef,
} from './stored/shape.js';

export {
  parsePatchRequest,
  type PatchRequest,
  type PatchOperation,
  type PatchOperationName,
} from './patch/request.js';
export {
  applyPatch,
  patchNeedsMembers,
  checkAttributeSizes,
  checkMemberChanges,
  type ApplyPatchOptions,
  type PatchResult,
} from './patch/apply.js';

export {
  projectResource,
  projectResources,
  isAttributeReturned,
  type ProjectionParams,
} from './projection.js';

export { listResponse, type ListResponse, type ListResponseInput } from './messages/list.js';
export { parsePagination, type Pagination, type PaginationLimits } from './messages/pagination.js';
export {
  parseSearchQuery,
  parseSearchRequest,
  type SearchParams,
  type SearchLimits,
} from './messages/search.js';
export { deepEqual } from './resource/values.js';
export {
  DEFAULT_FILTER_LIMITS,
  DEFAULT_PATCH_LIMITS,
  type FilterLimits,
  type PatchLimits,
} from './limits.js';
export { sortSpec, parseSortOrder, type SortSpec, type SortOrder } from './messages/sort.js';
export {
  encodeCursor,
  decodeCursor,
  cursorToMongo,
  isCursorRequest,
  type CursorPosition,
} from './messages/cursor.js';
export {
  parseBulkRequest,
  resolveBulkIds,
  bulkResponse,
  bulkErrorResult,
  type BulkRequest,
  type BulkOperation,
  type BulkMethod,
  type BulkLimits,
  type BulkResponse,
  type BulkOperationResult,
} from './messages/bulk.js';
export {
  etagFromVersion,
  parseEtag,
  parseEtagCondition,
  ifMatchSatisfied,
  ifNoneMatchMatches,
  type EtagCondition,
} from './messages/etag.js';
export { buildMeta, resourceLocation, type MetaInput } from './messages/meta.js';
