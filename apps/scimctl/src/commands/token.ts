import { getOrganisation, issueToken, revokeTokens, rotateToken } from '@scimbridge/tenancy';
import type { Command } from 'commander';
import { forceOption, refuseIfManagedByKubernetes } from '../managed.js';
import type { CommandContext } from '../session.js';

const BROADCAST_NOTE = {
  published: '',
  pending:
    '\n(Redis unreachable: the change is stored; its broadcast is pending and an api replica publishes it when it can. Replicas without the broadcast refuse old tokens within 1 s.)',
} as const;

/** `scimctl token issue|rotate|revoke ORG`: the one way tokens are minted and revoked, as the controller does. */
export function registerToken(parent: Command, { run }: CommandContext): void {
  const token = parent.command('token').description('issue, rotate or revoke the organisation bearer token');
  for (const [name, description, mint] of [
    ['issue', 'mint a token (the previous one stops working at once); printed once', issueToken],
    ['rotate', 'replace the token (the previous one stops working at once); printed once', rotateToken],
  ] as const) {
    token
      .command(name)
      .description(description)
      .argument('<orgId>')
      .addOption(forceOption())
      .action(
        run(async (session, print, orgId: string, options: { force?: boolean }) => {
          const connection = await session.mongo();
          if (!(await getOrganisation(connection, orgId)))
            throw new Error(`organisation ${orgId} not found; apply its settings first`);
          await refuseIfManagedByKubernetes(connection, orgId, options.force);
          const issued = await mint(connection, await session.pubsub(), orgId);
          print(
            {
              orgId,
              token: issued.token,
              tokenId: issued.tokenId,
              fingerprint: issued.fingerprint,
              issuedAt: issued.issuedAt,
              broadcast: session.broadcast(),
            },
            `${issued.token}\n(token ${issued.fingerprint} for ${orgId}: shown once, store it in your IdP now)${BROADCAST_NOTE[session.broadcast()]}`,
          );
        }),
      );
  }
  token
    .command('revoke')
    .description('leave the organisation without a valid token')
    .argument('<orgId>')
    .addOption(forceOption())
    .action(
      run(async (session, print, orgId: string, options: { force?: boolean }) => {
        await refuseIfManagedByKubernetes(await session.mongo(), orgId, options.force);
        const revoked = await revokeTokens(await session.mongo(), await session.pubsub(), orgId);
        print(
          { orgId, revoked, broadcast: session.broadcast() },
          `revoked ${revoked.length} token(s) of ${orgId}${BROADCAST_NOTE[session.broadcast()]}`,
        );
      }),
    );
}
