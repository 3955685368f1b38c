// Public API of @scimbridge/tenancy: organisation settings and bearer tokens, shared by the api, the
// controller and scimctl, so there is one way to mint, hash, verify and revoke a token.

export {
  organisationSettingsSchema,
  organisationIdSchema,
  parseOrganisationSettings,
  defaultOrganisationSettings,
  type OrganisationSettings,
  type OrganisationSettingsInput,
} from './settings.js';
export {
  tenancyCollections,
  ensureTenancyIndexes,
  type OrganisationDocument,
  type TokenDocument,
  type PendingBroadcastDocument,
  type TenancyCollections,
} from './collections.js';
export {
  applyOrganisation,
  getOrganisation,
  disableOrganisation,
  setOrganisationDeleting,
  countUsersAndGroups,
  groupExists,
  accessDenial,
  type Organisation,
  type AccessDenial,
} from './organisations.js';
export {
  claimOrganisation,
  organisationOwner,
  releaseOrganisationClaim,
  type OrganisationOwner,
} from './claims.js';
export {
  TOKEN_PREFIX,
  TOKEN_LENGTH,
  MIN_ADOPTED_TOKEN_LENGTH,
  MAX_TOKEN_LENGTH,
  mintToken,
  verifyTokenFormat,
  tokenShapeProblem,
  hashToken,
  tokenFingerprint,
} from './tokens/format.js';
export {
  issueToken,
  rotateToken,
  adoptToken,
  revokeTokens,
  listTokens,
  findTokenByHash,
  TokenInUseError,
  WeakTokenError,
  type TokenRecord,
  type IssuedToken,
} from './tokens/records.js';
export { LastUsedRecorder } from './tokens/last-used.js';
export {
  TOKEN_REVOCATION_CHANNEL,
  ORGANISATION_CHANGE_CHANNEL,
  publishOrganisationChange,
  TokenRevocationSubscriber,
  type TokenRevocationMessage,
  type TenancyChangeHandlers,
} from './broadcast.js';
export { republishPendingBroadcasts, PendingBroadcastRelay } from './pending-broadcasts.js';
export {
  TokenAuthenticator,
  type AuthenticationResult,
  type AuthenticationRefusal,
  type AuthenticateOptions,
  type TokenAuthenticatorOptions,
} from './authenticator.js';
