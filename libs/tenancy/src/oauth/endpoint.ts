/** Where the api serves the OAuth token endpoint: beside `/scim/v2`, at the same origin and path prefix. */
export const TOKEN_ENDPOINT_PATH = '/oauth/token';

/**
 * The token endpoint of a SCIM base URL: `<public base>/scim/v2` → `<public base>/oauth/token` (a trailing `/` and
 * any query are ignored); null when the URL does not end with `/scim/v2`. The api, the controller's status and
 * scimctl all derive it here.
 */
export function tokenEndpointUrl(scimBaseUrl: string): string | null {
  // Text, not a URL object: the caller's spelling (an explicit default port, say) is kept.
  const base = scimBaseUrl.split(/[?#]/)[0]!.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+(\/.*)?\/scim\/v2$/i.test(base)) return null;
  return `${base.slice(0, -'/scim/v2'.length)}${TOKEN_ENDPOINT_PATH}`;
}
