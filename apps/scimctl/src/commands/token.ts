import { getOrganisation, issueToken, listTokens, revokeTokens, rotateToken } from '@scimbridge/tenancy';
import type { Command } from 'commander';
import { TOKEN_BROADCAST_NOTE } from '../broadcast-note.js';
import { durationOption, formatDuration } from '../duration.js';
import { forceOption, refuseIfManagedByKubernetes } from '../managed.js';
import type { CommandContext } from '../session.js';

/** `scimctl token issue|rotate|revoke ORG`: the one way tokens are minted and revoked, as the controller does. */
export function registerToken(parent: Command, { run }: CommandContext): void {
  const token = parent.command('token').description('issue, rotate or revoke the organisation bearer token');
  for (const [name, description, mint, field] of [
    [
      'issue',
      'mint a token (the previous one stops working at once); printed once',
      issueToken,
      'spec.token',
    ],
    [
      'rotate',
      'replace the token (the previous one stops working at once, or after --previous-valid-for); printed once',
      rotateToken,
      'spec.token.rotation (and spec.token.previousTokenValidForSeconds for an overlap)',
    ],
  ] as const) {
    const command = token.command(name).description(description).argument('<orgId>').addOption(forceOption());
    if (name === 'rotate')
      command.option(
        '--previous-valid-for <duration>',
        'keep the previous token valid this long (e.g. 24h), so the IdP can be updated without downtime',
        durationOption,
      );
    command.action(
      run(async (session, print, orgId: string, options: { force?: boolean; previousValidFor?: number }) => {
        const connection = await session.mongo();
        if (!(await getOrganisation(connection, orgId)))
          throw new Error(`organisation ${orgId} not found; apply its settings first`);
        await refuseIfManagedByKubernetes(
          connection,
          orgId,
          options.force,
          options.previousValidFor ? 'spec.token.previousTokenValidForSeconds' : field,
        );
        const graceMs = options.previousValidFor ?? 0;
        const hadToken = (await listTokens(connection, orgId)).length > 0;
        const issued = await mint(connection, await session.pubsub(), orgId, {
          previousValidForMs: graceMs,
        });
        const previousValidUntil =
          graceMs > 0 && hadToken ? new Date(issued.issuedAt.getTime() + graceMs) : null;
        const overlap = previousValidUntil
          ? `\n(the previous token stays valid for ${formatDuration(graceMs)}, until ${previousValidUntil.toISOString()}; update the IdP before then)`
          : '';
        print(
          {
            orgId,
            token: issued.token,
            tokenId: issued.tokenId,
            fingerprint: issued.fingerprint,
            issuedAt: issued.issuedAt,
            previousValidUntil,
            broadcast: session.broadcast(),
          },
          `${issued.token}\n(token ${issued.fingerprint} for ${orgId}: shown once, store it in your IdP now)${overlap}${TOKEN_BROADCAST_NOTE[session.broadcast()]}`,
        );
      }),
    );
  }
  token
    .command('revoke')
    .description('leave the organisation without a valid token (previous tokens in their grace period too)')
    .argument('<orgId>')
    .addOption(forceOption())
    .action(
      run(async (session, print, orgId: string, options: { force?: boolean }) => {
        await refuseIfManagedByKubernetes(await session.mongo(), orgId, options.force, 'spec.token');
        const revoked = await revokeTokens(await session.mongo(), await session.pubsub(), orgId);
        print(
          { orgId, revoked, broadcast: session.broadcast() },
          `revoked ${revoked.length} token(s) of ${orgId}${TOKEN_BROADCAST_NOTE[session.broadcast()]}`,
        );
      }),
    );
}
