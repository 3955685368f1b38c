import {
  createClient,
  getClient,
  listClients,
  revokeClient,
  revokeClientSecret,
  rotateClientSecret,
  tenancyCollections,
  type PreviousSecrets,
} from '@scimbridge/tenancy';
import { Option, type Command } from 'commander';
import type { Connection } from 'mongoose';
import { TOKEN_BROADCAST_NOTE } from '../broadcast-note.js';
import { durationOption, formatDuration } from '../duration.js';
import { endpoints, scimUrlOption } from '../endpoints.js';
import { forceOption, refuseIfManagedByKubernetes } from '../managed.js';
import { requireOrganisation } from '../settings-edit.js';
import type { CommandContext, Session } from '../session.js';

const iso = (date: Date | null) => date?.toISOString() ?? 'never';

/** Access tokens of the client still valid now (the token endpoint's output; revoked with the client). */
async function liveAccessTokens(connection: Connection, orgId: string, clientId: string): Promise<number> {
  return tenancyCollections(connection).tokens.countDocuments({
    orgId,
    clientId,
    kind: 'access',
    validUntil: { $gt: new Date() },
  });
}

async function mutableOrganisation(
  session: Session,
  orgId: string,
  force: boolean | undefined,
  field: string,
) {
  const organisation = await requireOrganisation(session, orgId);
  await refuseIfManagedByKubernetes(await session.mongo(), orgId, force, field);
  return organisation;
}

/**
 * `scimctl client create|rotate|revoke|list ORG …`: OAuth 2.0 clients (RFC 6749 §4.4) of an organisation. A secret is
 * printed once, at creation or rotation; afterwards only its fingerprint is shown.
 */
export function registerClient(parent: Command, { run, io }: CommandContext): void {
  const client = parent
    .command('client')
    .description('OAuth 2.0 clients: client id and secrets for the token endpoint (client credentials)');

  client
    .command('create')
    .description('create a client; its secret is printed once')
    .argument('<orgId>')
    .option(
      '--expires-in <duration>',
      'the secret expires after this long (e.g. 180d); default never',
      durationOption,
    )
    .option('--no-secret', 'no secret: a client used only with workload identity federation')
    .addOption(scimUrlOption())
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          options: { expiresIn?: number; secret: boolean; scimUrl?: string; force?: boolean },
        ) => {
          if (!options.secret && options.expiresIn)
            throw new Error('--expires-in applies to a secret; it cannot go with --no-secret');
          const organisation = await mutableOrganisation(
            session,
            orgId,
            options.force,
            'spec.authentication.clientCredentials (the controller keeps the client in Secret <name>-scim-client)',
          );
          const where = endpoints(options.scimUrl ?? io.env.SCIM_BASE_URL);
          const { client: created, secret } = await createClient(await session.mongo(), orgId, {
            withSecret: options.secret,
            secretExpiresAt: options.expiresIn ? new Date(Date.now() + options.expiresIn) : null,
          });
          const enabled = organisation.settings.authentication.clientCredentials.enabled;
          const notes = [
            secret ? '(the secret is shown once: paste it into the IdP now)' : '',
            secret && !enabled
              ? `(client credentials are off for ${orgId}: the token endpoint refuses this secret until \`scimctl auth ${orgId} --client-credentials on\`)`
              : '',
          ].filter(Boolean);
          print(
            {
              orgId,
              clientId: created.clientId,
              clientSecret: secret?.secret ?? null,
              secretId: secret?.secretId ?? null,
              fingerprint: secret?.fingerprint ?? null,
              expiresAt: secret?.expiresAt ?? null,
              clientCredentialsEnabled: enabled,
              scimUrl: where.scimUrl,
              tokenUrl: where.tokenUrl,
            },
            [
              `client_id     ${created.clientId}`,
              ...(secret
                ? [
                    `client_secret ${secret.secret}`,
                    `fingerprint   ${secret.fingerprint}   expires ${iso(secret.expiresAt)}`,
                  ]
                : ['client_secret none (--no-secret)']),
              where.human,
              ...notes,
            ].join('\n'),
          );
        },
      ),
    );

  client
    .command('rotate')
    .description(
      'add a new secret (printed once); the previous ones are revoked at once unless --previous-valid-for or --keep-previous',
    )
    .argument('<orgId>')
    .argument('<clientId>')
    .addOption(
      new Option(
        '--previous-valid-for <duration>',
        'the previous secrets stay valid this long (e.g. 24h), time to update the IdP',
      )
        .argParser(durationOption)
        .conflicts('keepPrevious'),
    )
    .option(
      '--keep-previous',
      'keep the previous secrets until each is revoked with `client revoke --secret`',
    )
    .option(
      '--expires-in <duration>',
      'the new secret expires after this long; default never',
      durationOption,
    )
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          clientId: string,
          options: { previousValidFor?: number; keepPrevious?: boolean; expiresIn?: number; force?: boolean },
        ) => {
          await mutableOrganisation(
            session,
            orgId,
            options.force,
            'spec.authentication.clientCredentials.rotation (and previousSecretValidForSeconds for an overlap)',
          );
          const connection = await session.mongo();
          const before = await getClient(connection, orgId, clientId);
          if (!before) throw new Error(`organisation ${orgId} has no OAuth client ${clientId}`);
          const previous: PreviousSecrets = options.keepPrevious
            ? { keep: true }
            : options.previousValidFor
              ? { validForMs: options.previousValidFor }
              : { revoke: true };
          const issued = await rotateClientSecret(connection, await session.pubsub(), orgId, clientId, {
            previous,
            expiresAt: options.expiresIn ? new Date(Date.now() + options.expiresIn) : null,
          });
          const after = (await getClient(connection, orgId, clientId))?.secrets ?? [];
          const kept = after.filter((s) => s.secretId !== issued.secretId);
          const revoked = before.secrets.filter((s) => !after.some((a) => a.secretId === s.secretId));
          const fate = options.keepPrevious
            ? `previous secret(s) kept: ${kept.map((s) => s.fingerprint).join(', ') || 'none'}`
            : options.previousValidFor
              ? `previous secret(s) stay valid for ${formatDuration(options.previousValidFor)}: ${kept.map((s) => `${s.fingerprint} until ${iso(s.expiresAt)}`).join(', ') || 'none'}`
              : `previous secret(s) revoked at once, with their access tokens: ${revoked.map((s) => s.fingerprint).join(', ') || 'none'}`;
          print(
            {
              orgId,
              clientId,
              clientSecret: issued.secret,
              secretId: issued.secretId,
              fingerprint: issued.fingerprint,
              expiresAt: issued.expiresAt,
              previous: kept.map(({ secretId, fingerprint, expiresAt }) => ({
                secretId,
                fingerprint,
                expiresAt,
              })),
              revoked: revoked.map(({ secretId, fingerprint }) => ({ secretId, fingerprint })),
              broadcast: session.broadcast(),
            },
            [
              `client_id     ${clientId}`,
              `client_secret ${issued.secret}`,
              `fingerprint   ${issued.fingerprint}   expires ${iso(issued.expiresAt)}`,
              '(the secret is shown once: paste it into the IdP now)',
              fate,
            ].join('\n') + (revoked.length ? TOKEN_BROADCAST_NOTE[session.broadcast()] : ''),
          );
        },
      ),
    );

  client
    .command('revoke')
    .description('revoke one secret (--secret), or the whole client with every access token it holds')
    .argument('<orgId>')
    .argument('<clientId>')
    .option('--secret <id|fingerprint>', 'revoke only this secret (and the access tokens it obtained)')
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          clientId: string,
          options: { secret?: string; force?: boolean },
        ) => {
          const organisation = await mutableOrganisation(
            session,
            orgId,
            options.force,
            'spec.authentication.clientCredentials (rotation replaces the secret; enabled: false turns the mode off)',
          );
          const connection = await session.mongo();
          const tokensBefore = await liveAccessTokens(connection, orgId, clientId);
          if (options.secret) {
            const done = await revokeClientSecret(
              connection,
              await session.pubsub(),
              orgId,
              clientId,
              options.secret,
            );
            if (!done)
              throw new Error(`OAuth client ${clientId} of ${orgId} has no secret ${options.secret}`);
            const tokensRevoked = tokensBefore - (await liveAccessTokens(connection, orgId, clientId));
            print(
              {
                orgId,
                clientId,
                secret: options.secret,
                accessTokensRevoked: tokensRevoked,
                broadcast: session.broadcast(),
              },
              `revoked secret ${options.secret} of ${clientId} and ${tokensRevoked} access token(s) it obtained${TOKEN_BROADCAST_NOTE[session.broadcast()]}`,
            );
            return;
          }
          if (!(await revokeClient(connection, await session.pubsub(), orgId, clientId)))
            throw new Error(`organisation ${orgId} has no OAuth client ${clientId}`);
          const left = await listClients(connection, orgId);
          const federationNote =
            organisation.settings.authentication.federation && left.length === 0
              ? `\n(federation is still set for ${orgId} but it has no client left: \`scimctl federation set\` creates one, whose id goes into the IdP)`
              : '';
          print(
            {
              orgId,
              clientId,
              revoked: true,
              accessTokensRevoked: tokensBefore,
              broadcast: session.broadcast(),
            },
            `revoked OAuth client ${clientId} of ${orgId}, its secrets and ${tokensBefore} access token(s)${federationNote}${TOKEN_BROADCAST_NOTE[session.broadcast()]}`,
          );
        },
      ),
    );

  client
    .command('list')
    .description(
      'the clients, their secrets (fingerprints only: created, expires, last used) and live access tokens',
    )
    .argument('<orgId>')
    .action(
      run(async (session, print, orgId: string) => {
        await requireOrganisation(session, orgId);
        const connection = await session.mongo();
        const clients = await listClients(connection, orgId);
        if (clients.length === 0) print(undefined, `no OAuth clients in ${orgId}`);
        for (const c of clients) {
          const accessTokens = await liveAccessTokens(connection, orgId, c.clientId);
          const secrets = c.secrets.map(({ secretId, fingerprint, createdAt, expiresAt, lastUsedAt }) => ({
            secretId,
            fingerprint,
            createdAt,
            expiresAt,
            lastUsedAt,
          }));
          print(
            {
              orgId,
              clientId: c.clientId,
              createdAt: c.createdAt,
              managedBy: c.managedBy,
              secrets,
              activeAccessTokens: accessTokens,
            },
            [
              `${c.clientId}  created ${iso(c.createdAt)}  managed by ${c.managedBy ?? 'scimctl'}  access tokens ${accessTokens}`,
              ...(secrets.length
                ? secrets.map(
                    (s) =>
                      `  secret ${s.fingerprint} (${s.secretId})  created ${iso(s.createdAt)}  expires ${iso(s.expiresAt)}  last used ${iso(s.lastUsedAt)}`,
                  )
                : ['  no secret (federation only)']),
            ].join('\n'),
          );
        }
      }),
    );
}
