import { createClient, listClients, revokeAccessTokens, type FederationTrust } from '@scimbridge/tenancy';
import type { Command } from 'commander';
import { SETTINGS_BROADCAST_NOTE } from '../broadcast-note.js';
import { endpoints, scimUrlOption } from '../endpoints.js';
import { forceOption } from '../managed.js';
import { editSettings, requireOrganisation } from '../settings-edit.js';
import type { CommandContext } from '../session.js';

const FIELD = 'spec.authentication.federation';

const sameTrust = (a: FederationTrust | null, b: FederationTrust | null) =>
  JSON.stringify(a) === JSON.stringify(b);

function describeTrust(trust: FederationTrust | null): string {
  if (!trust) return 'federation    off';
  return [
    `issuer        ${trust.issuer}`,
    `subject       ${trust.subject}`,
    `audience      ${trust.audience}`,
    `JWKS URL      ${trust.jwksUrl}`,
  ].join('\n');
}

/**
 * `scimctl federation set|clear|show ORG`: workload identity federation (RFC 7523 §2.2): the IdP authenticates at
 * the token endpoint with a JWT its issuer signed, instead of a client secret (settings.authentication.federation).
 */
export function registerFederation(parent: Command, { run, io }: CommandContext): void {
  const federation = parent
    .command('federation')
    .description(
      'workload identity federation: trust JWTs of an issuer (e.g. Entra) instead of a client secret',
    );

  federation
    .command('set')
    .description(
      'trust assertions with this issuer, subject and audience; ensures a client and prints its id for the IdP',
    )
    .argument('<orgId>')
    .requiredOption(
      '--issuer <url>',
      'the `iss` of the assertions, e.g. https://login.microsoftonline.com/<tenant>/v2.0',
    )
    .requiredOption('--subject <subject>', 'their `sub` (Entra: the workload identity object id)')
    .requiredOption('--audience <audience>', 'an `aud` they carry (Entra: api://<workload identity app id>)')
    .requiredOption(
      '--jwks-url <url>',
      "the issuer's signing keys, e.g. https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys",
    )
    .addOption(scimUrlOption())
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          options: {
            issuer: string;
            subject: string;
            audience: string;
            jwksUrl: string;
            scimUrl?: string;
            force?: boolean;
          },
        ) => {
          const where = endpoints(options.scimUrl ?? io.env.SCIM_BASE_URL);
          const trust = {
            issuer: options.issuer,
            subject: options.subject,
            audience: options.audience,
            jwksUrl: options.jwksUrl,
          };
          const { before, after } = await editSettings(
            session,
            orgId,
            { force: options.force, field: FIELD },
            (s) => {
              s.authentication.federation = trust;
              return s;
            },
          );
          const connection = await session.mongo();
          // Access tokens obtained under another trust are not what the organisation trusts any more.
          const changed =
            before.authentication.federation !== null &&
            !sameTrust(before.authentication.federation, after.authentication.federation);
          const revoked = changed
            ? await revokeAccessTokens(connection, await session.pubsub(), orgId, 'federation')
            : 0;
          const existing = await listClients(connection, orgId);
          const client = existing[0] ?? (await createClient(connection, orgId, { withSecret: false })).client;
          print(
            {
              orgId,
              federation: after.authentication.federation,
              clientId: client.clientId,
              clientCreated: existing.length === 0,
              accessTokensRevoked: revoked,
              scimUrl: where.scimUrl,
              tokenUrl: where.tokenUrl,
              broadcast: session.broadcast(),
            },
            [
              `federation set for ${orgId}`,
              describeTrust(after.authentication.federation),
              `client_id     ${client.clientId}${existing.length === 0 ? '   (created, no secret)' : ''}`,
              where.human,
              '(in the IdP: Client ID, token URL and SCIM URL above, then Test Connection)',
              ...(revoked
                ? [`(the trust changed: ${revoked} access token(s) obtained under the old one revoked)`]
                : []),
            ].join('\n') + SETTINGS_BROADCAST_NOTE[session.broadcast()],
          );
        },
      ),
    );

  federation
    .command('clear')
    .description('stop trusting federated assertions; revokes the access tokens they obtained')
    .argument('<orgId>')
    .addOption(forceOption())
    .action(
      run(async (session, print, orgId: string, options: { force?: boolean }) => {
        await editSettings(session, orgId, { force: options.force, field: FIELD }, (s) => {
          s.authentication.federation = null;
          return s;
        });
        const revoked = await revokeAccessTokens(
          await session.mongo(),
          await session.pubsub(),
          orgId,
          'federation',
        );
        print(
          { orgId, federation: null, accessTokensRevoked: revoked, broadcast: session.broadcast() },
          `federation cleared for ${orgId}; ${revoked} access token(s) it obtained revoked${SETTINGS_BROADCAST_NOTE[session.broadcast()]}`,
        );
      }),
    );

  federation
    .command('show')
    .description('the trusted issuer, subject, audience and JWKS URL, and the client ids the IdP may use')
    .argument('<orgId>')
    .action(
      run(async (session, print, orgId: string) => {
        const organisation = await requireOrganisation(session, orgId);
        const trust = organisation.settings.authentication.federation;
        const clients = (await listClients(await session.mongo(), orgId)).map((c) => c.clientId);
        print(
          { orgId, federation: trust, clientIds: clients },
          `${describeTrust(trust)}\nclient ids    ${clients.join(', ') || 'none'}`,
        );
      }),
    );
}
