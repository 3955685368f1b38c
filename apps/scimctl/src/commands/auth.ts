import { revokeAccessTokens, type OrganisationSettings } from '@scimbridge/tenancy';
import { InvalidArgumentError, type Command } from 'commander';
import { SETTINGS_BROADCAST_NOTE } from '../broadcast-note.js';
import { durationOption, formatDuration } from '../duration.js';
import { forceOption } from '../managed.js';
import { editSettings } from '../settings-edit.js';
import type { CommandContext } from '../session.js';

const onOff = (value: string): boolean => {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new InvalidArgumentError('expected on or off');
};

const MIN_LIFETIME_S = 300;
const MAX_LIFETIME_S = 21_600;

export function describeAuthentication({ authentication: a }: OrganisationSettings): string {
  return [
    `bearer token ${a.bearerToken.enabled ? 'on' : 'off'}`,
    `client credentials ${a.clientCredentials.enabled ? 'on' : 'off'} (access tokens live ${formatDuration(a.clientCredentials.accessTokenLifetimeSeconds * 1_000)})`,
    `federation ${a.federation ? `on (${a.federation.issuer})` : 'off'}`,
  ].join(', ');
}

/** `scimctl auth ORG --bearer on|off --client-credentials on|off …`: which credentials the api accepts. */
export function registerAuth(parent: Command, { run }: CommandContext): void {
  parent
    .command('auth')
    .description(
      'turn authentication modes on or off: the bearer token, OAuth client credentials (federation: `scimctl federation`)',
    )
    .argument('<orgId>')
    .option('--bearer <on|off>', 'the organisation bearer token', onOff)
    .option('--client-credentials <on|off>', 'client id + secret at the token endpoint', onOff)
    .option(
      '--access-token-lifetime <duration>',
      'lifetime of token-endpoint access tokens, 5m to 6h',
      durationOption,
    )
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          options: {
            bearer?: boolean;
            clientCredentials?: boolean;
            accessTokenLifetime?: number;
            force?: boolean;
          },
        ) => {
          if (
            options.bearer === undefined &&
            options.clientCredentials === undefined &&
            options.accessTokenLifetime === undefined
          )
            throw new Error('give --bearer, --client-credentials or --access-token-lifetime');
          const lifetime =
            options.accessTokenLifetime === undefined ? undefined : options.accessTokenLifetime / 1_000;
          if (
            lifetime !== undefined &&
            (!Number.isInteger(lifetime) || lifetime < MIN_LIFETIME_S || lifetime > MAX_LIFETIME_S)
          )
            throw new Error('--access-token-lifetime must be whole seconds from 5m to 6h');
          const { before, after } = await editSettings(
            session,
            orgId,
            { force: options.force, field: 'spec.authentication' },
            (s) => {
              const a = s.authentication;
              if (options.bearer !== undefined) a.bearerToken.enabled = options.bearer;
              if (options.clientCredentials !== undefined)
                a.clientCredentials.enabled = options.clientCredentials;
              if (lifetime !== undefined) a.clientCredentials.accessTokenLifetimeSeconds = lifetime;
              return s;
            },
          );
          // Off means off: access tokens it issued would work again if the mode were turned back on.
          const revoked =
            before.authentication.clientCredentials.enabled && !after.authentication.clientCredentials.enabled
              ? await revokeAccessTokens(
                  await session.mongo(),
                  await session.pubsub(),
                  orgId,
                  'client_secret',
                )
              : 0;
          const a = after.authentication;
          const none = !a.bearerToken.enabled && !a.clientCredentials.enabled && !a.federation;
          print(
            { orgId, authentication: a, accessTokensRevoked: revoked, broadcast: session.broadcast() },
            [
              `${orgId}: ${describeAuthentication(after)}`,
              ...(revoked ? [`(${revoked} client-credentials access token(s) revoked)`] : []),
              ...(none
                ? ['(warning: every mode is off, so no IdP can authenticate for this organisation)']
                : []),
            ].join('\n') + SETTINGS_BROADCAST_NOTE[session.broadcast()],
          );
        },
      ),
    );
}
