import { createAccount, type AccountInput } from '@scimbridge/store';
import type { Command } from 'commander';
import type { CommandContext } from '../session.js';

/** `scimctl account create ORG …`: an account as the host application creates it, for SCIM to link to. */
export function registerAccount(parent: Command, { run }: CommandContext): void {
  parent
    .command('account')
    .description('accounts as the host application creates them')
    .command('create')
    .description(
      'create a pre-existing (not SCIM-managed) account; a SCIM create with its userName or email links to it',
    )
    .argument('<orgId>')
    .requiredOption('--user-name <userName>')
    .option('--email <email>')
    .option('--given-name <name>')
    .option('--family-name <name>')
    .option('--display-name <name>')
    .option('--password-hash <hash>', 'as the host application stores it; linking drops it (SSO only)')
    .action(
      run(async (session, print, orgId: string, options: AccountInput) => {
        const account = await createAccount(await session.mongo(), orgId, options, await session.profile());
        print(
          { orgId, id: account._id, userName: options.userName },
          `account ${account._id} (${options.userName}) created in ${orgId}`,
        );
      }),
    );
}
