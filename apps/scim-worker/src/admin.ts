#!/usr/bin/env node
import { AUDIT_DEAD_LETTERS_USAGE, runAuditDeadLettersCommand } from '@scimbridge/audit-delivery';

// `scim-worker-admin audit dead-letters <list|redrive> ...` inside a worker pod; scimctl mounts the same command
// from @scimbridge/audit-delivery.
const [group, command, ...rest] = process.argv.slice(2);
if (group === 'audit' && command === 'dead-letters') {
  runAuditDeadLettersCommand(rest).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write(`${AUDIT_DEAD_LETTERS_USAGE}\n`);
  process.exit(64);
}
