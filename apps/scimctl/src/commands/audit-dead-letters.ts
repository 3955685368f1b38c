import { runAuditDeadLettersCommand } from '@scimbridge/audit-delivery';
import { CommanderError, type Command } from 'commander';
import type { GlobalOptions } from '../io.js';
import type { CommandContext } from '../session.js';

/**
 * `scimctl audit dead-letters list|redrive …`: the command is @scimbridge/audit-delivery's, shared with the
 * worker's `scim-worker-admin` (docs/worker.md "Dead letters"); this mounts it under `audit` and hands it the
 * global options as its environment.
 */
export function registerAuditDeadLetters(audit: Command, { program, io }: CommandContext): void {
  audit
    .command('dead-letters')
    .description('list or re-drive audit webhook deliveries that used up their retries (--help for options)')
    .argument('[args...]', 'list|redrive and their options')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      const globals = program.opts<GlobalOptions>();
      const env = {
        ...io.env,
        ...(globals.mongodbUri ? { MONGODB_URI: globals.mongodbUri } : {}),
        ...(globals.redisUrl ? { REDIS_URL: globals.redisUrl } : {}),
      };
      const argv = globals.json && args[0] === 'list' ? [...args, '--json'] : args;
      const code = await runAuditDeadLettersCommand(argv.length ? argv : ['--help'], env, io.out, io.err);
      if (code !== 0) throw new CommanderError(code, 'commander.scimctl.dead-letters', '');
    });
}
