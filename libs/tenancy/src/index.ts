// Public API of @scimbridge/tenancy: organisation settings, bearer tokens and OAuth clients, shared by the api, the
// controller and scimctl, so there is one way to mint, hash, verify and revoke a token.

export {
  organisationSettingsSchema,
  MAX_EVENT_STREAMS,
  organisationIdSchema,
  parseOrganisationSettings,
  defaultOrganisationSettings,
  type OrganisationSettings,
  type OrganisationSettingsInput,
} from './settings.js';
export {
  tenancyCollections,
  ensureTenancyIndexes,
  TENANCY_INDEXES,
  type TenancyIndexDeclaration,
  type OrganisationDocument,
  type TokenDocument,
  type TokenKind,
  type AccessGrant,
  type OAuthClientDocument,
  type ClientSecretDocument,
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
  CLIENT_SECRET_PREFIX,
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
  previousTokens,
  findTokenByHash,
  TokenInUseError,
  WeakTokenError,
  type TokenRecord,
  type IssuedToken,
  type ReplaceOptions,
} from './tokens/records.js';
export {
  CLIENT_ID_PREFIX,
  MAX_ACTIVE_ACCESS_TOKENS,
  MAX_CLIENT_SECRETS,
  listClients,
  getClient,
  createClient,
  rotateClientSecret,
  revokeClientSecret,
  revokeClient,
  authenticateClientSecret,
  findClient,
  issueAccessToken,
  revokeAccessTokens,
  ClientNotFoundError,
  TooManySecretsError,
  type ClientSecretRecord,
  type IssuedClientSecret,
  type OAuthClientRecord,
  type PreviousSecrets,
  type ClientRefusal,
  type ClientAuthentication,
  type IssuedAccessToken,
} from './oauth/clients.js';
export { TOKEN_ENDPOINT_PATH, tokenEndpointUrl } from './oauth/endpoint.js';
export {
  FederationVerifier,
  FederationRefusal,
  FEDERATION_ALGORITHMS,
  type FederationTrust,
  type FederationVerifierOptions,
} from './oauth/federation.js';
export { LastUsedRecorder, type LastUsedFilter, type TokenUse } from './tokens/last-used.js';
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
  type CredentialInfo,
  type AuthenticateOptions,
  type TokenAuthenticatorOptions,
} from './authenticator.js';
export {
  RequestLogWriter,
  requestLogEntry,
  REQUEST_LOG_INDEXES,
  MAX_REQUEST_LOG_READ,
  requestLogCollection,
  readRequestLog,
  summariseRequests,
  parseStatusFilter,
  type RequestLogDocument,
  type RequestLogEntry,
  type RequestBodySummary,
  type RequestLogQuery,
  type RequestLogWriterOptions,
  type RequestSummary,
  type RequestSummaryOptions,
  type StatusFilter,
} from './request-log.js';
export {
  EVENT_SIGNING_KEYS_COLLECTION,
  EVENT_SIGNING_KEY_SET_ID,
  EVENT_SIGNING_ALG,
  EventSigningKeys,
  eventSigningKeyCollection,
  loadEventSigningKeys,
  rotateEventSigningKey,
  activeSigningKey,
  publishedKeys,
  type EventSigningKey,
  type EventSigningKeySetDocument,
  type EventSigningKeyCollection,
  type RotationOptions,
} from './event-signing.js';
