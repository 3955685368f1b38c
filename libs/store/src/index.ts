// Public API of @scimbridge/store: the MongoDB shapes and repositories of users (accounts), groups,
// memberships and audit events (docs/contracts.md).

export {
  storeCollections,
  ensureStoreIndexes,
  STORE_INDEXES,
  profileIndexes,
  type IndexDeclaration,
  isDuplicateKey,
  findInOrganisation,
  SCIM_VISIBLE,
  type StoreCollections,
} from './collections.js';
export type {
  UserDocument,
  UserScimState,
  UserAuthState,
  GroupDocument,
  MembershipDocument,
  AuditEventDocument,
  AuditAction,
  AuditActor,
  ResolvedMember,
  OutboxEntry,
  OutboxEffect,
  AppliedEffectDocument,
} from './documents.js';
export { uuidv7 } from './ids.js';
export { anyOf } from './query.js';
export { MembershipRepository, membershipId } from './memberships.js';
export { AuditLog, type AuditEventInput } from './audit.js';
export { createAccount, type AccountInput } from './accounts.js';
export {
  Outbox,
  OUTBOX_COLLECTIONS,
  type OutboxCarrier,
  type OutboxCollectionName,
  type EventInput,
  type EventDispatch,
} from './outbox.js';
export { ResourceRepository, type ResourceDocument, type InPlaceUpdate } from './resources.js';
export { EffectLedger } from './effects.js';
export {
  detectStoreProfile,
  describeStoreProfile,
  documentById,
  credentialById,
  flatKeyCopies,
  flatKeyField,
  withFlatKeys,
  profileFor,
  profileFromBuildInfo,
  serverFromBuildInfo,
  FERRETDB_PROFILE,
  MONGODB_PROFILE,
  STORE_PROFILE_SETTINGS,
  type BuildInfo,
  type StoreProfile,
  type StoreProfileSetting,
  type StoreServer,
} from './profile.js';
