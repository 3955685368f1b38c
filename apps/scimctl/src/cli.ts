import { Command, Option } from 'commander';
import { registerAccount } from './commands/account.js';
import { registerApply } from './commands/apply.js';
import { registerAuditDeadLetters } from './commands/audit-dead-letters.js';
import { registerAuditTail } from './commands/audit-tail.js';
import { registerAuth } from './commands/auth.js';
import { registerClient } from './commands/client.js';
import { registerDrift } from './commands/drift.js';
import { registerEvents } from './commands/events.js';
import { registerFederation } from './commands/federation.js';
import { registerLog } from './commands/log.js';
import { registerPause } from './commands/pause.js';
import { registerShow } from './commands/show.js';
import { registerToken } from './commands/token.js';
import type { CliIo } from './io.js';
import { commandContext } from './session.js';

/** The scimctl command tree, one module per command under commands/; `io` makes it testable in-process. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('scimctl')
    .description(
      'Administer scimbridge organisations without Kubernetes: settings, tokens, OAuth clients, accounts, audit log.',
    )
    .addOption(new Option('--json', 'machine-readable output (one JSON document per line)'))
    .addOption(new Option('--mongodb-uri <uri>', 'MongoDB connection string (default: $MONGODB_URI)'))
    .addOption(new Option('--redis-url <url>', 'Redis URL (default: $REDIS_URL)'))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const context = commandContext(program, io);
  registerApply(program, context);
  registerShow(program, context);
  registerToken(program, context);
  registerClient(program, context);
  registerFederation(program, context);
  registerAuth(program, context);
  registerPause(program, context);
  registerAccount(program, context);
  registerLog(program, context);
  registerDrift(program, context);
  const audit = program.command('audit').description('the audit log');
  registerAuditTail(audit, context);
  registerAuditDeadLetters(audit, context);
  registerEvents(program, context);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.'))
      return (error as { exitCode: number }).exitCode;
    io.err(`scimctl: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
