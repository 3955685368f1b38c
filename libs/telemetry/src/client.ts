/**
 * The identity provider behind a request, from its User-Agent, as a bounded label value: a raw User-Agent
 * would be unbounded. Okta documents `Okta SCIM Client 1.0.0`; the others are matched by vendor name, and
 * OneLogin has been seen sending none at all, hence `none`.
 */
export type IdentityProviderClient =
  'okta' | 'entra' | 'onelogin' | 'jumpcloud' | 'google' | 'none' | 'other';

const VENDORS: [RegExp, IdentityProviderClient][] = [
  [/okta/i, 'okta'],
  [/azure|microsoft|entra|aad/i, 'entra'],
  [/onelogin/i, 'onelogin'],
  [/jumpcloud/i, 'jumpcloud'],
  [/google/i, 'google'],
];

export function identityProviderClient(userAgent: string | undefined): IdentityProviderClient {
  if (!userAgent?.trim()) return 'none';
  return VENDORS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'other';
}
