import type { ServiceProviderCapabilities } from '@scimbridge/scim-core';
import { TOKEN_ENDPOINT_PATH, tokenEndpointUrl, type OrganisationSettings } from '@scimbridge/tenancy';

/** The token endpoint beside a SCIM base URL; at the origin's root when the base does not end with /scim/v2. */
function tokenUrlOf(scimBaseUrl: string): string {
  return tokenEndpointUrl(scimBaseUrl) ?? `${new URL(scimBaseUrl).origin}${TOKEN_ENDPOINT_PATH}`;
}

export interface SchemeContext {
  authentication: OrganisationSettings['authentication'];
  baseUrl: string;
  documentationUrl?: string | undefined;
}

/** RFC 7643 §5 authenticationSchemes: the modes this organisation has on, the first one primary. */
export function authenticationSchemes(
  context: SchemeContext,
): ServiceProviderCapabilities['authenticationSchemes'] {
  const { authentication, documentationUrl } = context;
  const tokenUrl = tokenUrlOf(context.baseUrl);
  const docs = documentationUrl ? { documentationUri: documentationUrl } : {};
  const schemes: ServiceProviderCapabilities['authenticationSchemes'] = [];
  if (authentication.bearerToken.enabled)
    schemes.push({
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: "The organisation's bearer token in the Authorization header (RFC 6750).",
      specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
      ...docs,
    });
  if (authentication.clientCredentials.enabled)
    schemes.push({
      type: 'oauth2',
      name: 'OAuth 2.0 client credentials',
      description: `grant_type=client_credentials with a client id and secret at ${tokenUrl} (RFC 6749 §4.4); the access token is then sent as a bearer token (RFC 6750).`,
      specUri: 'https://www.rfc-editor.org/rfc/rfc6749#section-4.4',
      ...docs,
    });
  if (authentication.federation)
    schemes.push({
      type: 'oauth2',
      name: 'OAuth 2.0 workload identity federation',
      description: `grant_type=client_credentials with a JWT client assertion from ${authentication.federation.issuer} at ${tokenUrl} (RFC 7523 §2.2); the access token is then sent as a bearer token.`,
      specUri: 'https://www.rfc-editor.org/rfc/rfc7523#section-2.2',
      ...docs,
    });
  return schemes.map((scheme, i) => (i === 0 ? { ...scheme, primary: true } : scheme));
}
