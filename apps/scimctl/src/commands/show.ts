import {
  countUsersAndGroups,
  getOrganisation,
  listClients,
  listTokens,
  organisationOwner,
  previousTokens,
} from '@scimbridge/tenancy';
import type { Command } from 'commander';
import type { CommandContext } from '../session.js';
import { describeAuthentication } from './auth.js';

/**
 * `scimctl show ORG`: settings, tokens (fingerprints only; previous ones with the end of their grace), OAuth client
 * ids, counts and who manages the organisation.
 */
export function registerShow(parent: Command, { run }: CommandContext): void {
  parent
    .command('show')
    .description(
      "an organisation's settings, tokens (fingerprints only; previous ones with the end of their grace), OAuth clients and user/group counts",
    )
    .argument('<orgId>')
    .action(
      run(async (session, print, orgId: string) => {
        const connection = await session.mongo();
        const organisation = await getOrganisation(connection, orgId);
        if (!organisation) throw new Error(`organisation ${orgId} not found`);
        const tokens = (await listTokens(connection, orgId)).map(
          ({ tokenId, fingerprint, issuedAt, lastUsedAt }) => ({
            tokenId,
            fingerprint,
            issuedAt,
            lastUsedAt,
          }),
        );
        const previous = (await previousTokens(connection, orgId)).map(
          ({ tokenId, fingerprint, issuedAt, lastUsedAt, validUntil }) => ({
            tokenId,
            fingerprint,
            issuedAt,
            lastUsedAt,
            validUntil,
          }),
        );
        const clients = (await listClients(connection, orgId)).map((c) => ({
          clientId: c.clientId,
          managedBy: c.managedBy,
          secrets: c.secrets.map((secret) => secret.fingerprint),
        }));
        const counts = await countUsersAndGroups(connection, orgId);
        const owner = await organisationOwner(connection, orgId);
        const { settings } = organisation;
        print(
          {
            orgId,
            settings: redactWebhooks(settings),
            deleting: organisation.deleting,
            tokens,
            previousTokens: previous,
            clients,
            counts,
            managedBy: owner ? { namespace: owner.namespace, name: owner.name } : null,
          },
          [
            `organisation  ${orgId} (${settings.displayName})`,
            `managed by    ${owner ? `ScimTenant ${owner.namespace}/${owner.name}` : 'scimctl (no ScimTenant)'}`,
            `enabled       ${settings.enabled}   plan includes SCIM: ${settings.plan.scimIncluded}   user limit: ${settings.plan.userLimit ?? 'none'}`,
            `default group ${settings.defaultGroup ?? 'none'}   rate limit: ${settings.rateLimit.requestsPerSecond}/s burst ${settings.rateLimit.burst}`,
            `webhooks      ${settings.audit.webhooks.map((w) => `${w.name} → ${w.url}`).join(', ') || 'none'}`,
            `event streams ${settings.audit.eventStreams.map((e) => `${e.name} → ${e.url} (aud ${e.audience})`).join(', ') || 'none'}`,
            `users/groups  ${counts.users}/${counts.groups}`,
            `paused        ${settings.paused ? 'yes: SCIM requests get 503 + Retry-After (scimctl resume)' : 'no'}`,
            `auth          ${describeAuthentication(settings)}`,
            `tokens        ${tokens.map((t) => `${t.fingerprint} issued ${t.issuedAt.toISOString()} last used ${t.lastUsedAt?.toISOString() ?? 'never'}`).join('; ') || 'none'}`,
            ...(previous.length
              ? [
                  `previous      ${previous.map((t) => `${t.fingerprint} still valid until ${t.validUntil!.toISOString()}`).join('; ')}`,
                ]
              : []),
            `clients       ${clients.map((c) => `${c.clientId} (${c.secrets.length} secret(s))`).join('; ') || 'none'}`,
          ].join('\n'),
        );
      }),
    );
}

/** Webhook HMAC secrets and event streams' Authorization values are not printed back. */
function redactWebhooks<
  T extends {
    audit: { webhooks: { secret: string }[]; eventStreams: { authorization: string | null }[] };
  },
>(settings: T): T {
  return {
    ...settings,
    audit: {
      ...settings.audit,
      webhooks: settings.audit.webhooks.map((w) => ({ ...w, secret: '***' })),
      eventStreams: settings.audit.eventStreams.map((s) => ({
        ...s,
        authorization: s.authorization === null ? null : '***',
      })),
    },
  };
}
