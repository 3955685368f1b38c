import { tokenEndpointUrl } from '@scimbridge/tenancy';
import { Option } from 'commander';

/**
 * The IdP needs the SCIM base URL and the token endpoint beside it; scimctl does not know the public host, so the
 * operator may give the SCIM base URL (`--scim-url`, or $SCIM_BASE_URL as for the controller's status.scimBaseUrl)
 * and the token URL is derived from it: `<public base>/scim/v2` → `<public base>/oauth/token`.
 */
export const scimUrlOption = () =>
  new Option(
    '--scim-url <url>',
    'the public SCIM base URL, https://<host>/scim/v2 (default: $SCIM_BASE_URL, as the controller reads it), to print the token URL',
  );

export interface Endpoints {
  scimUrl: string | null;
  tokenUrl: string | null;
  /** What to print: the URLs, or how they are formed. */
  human: string;
}

export function endpoints(scimUrl: string | undefined): Endpoints {
  if (!scimUrl)
    return {
      scimUrl: null,
      tokenUrl: null,
      human:
        'SCIM URL      https://<host>/scim/v2\ntoken URL     https://<host>/oauth/token   (pass --scim-url to print yours)',
    };
  let url: URL;
  try {
    url = new URL(scimUrl);
  } catch {
    throw new Error(`--scim-url ${scimUrl} is not a URL`);
  }
  const token = tokenEndpointUrl(scimUrl);
  if (!token) throw new Error(`--scim-url must end with /scim/v2 (got ${scimUrl})`);
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/+$/, '');
  const scim = url.toString();
  return { scimUrl: scim, tokenUrl: token, human: `SCIM URL      ${scim}\ntoken URL     ${token}` };
}
