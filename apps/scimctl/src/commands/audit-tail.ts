import { AuditLog, type AuditEventDocument } from '@scimbridge/store';
import type { Command } from 'commander';
import type { CommandContext } from '../session.js';

/** `scimctl audit tail ORG [--follow]`: the latest audit events, oldest first. */
export function registerAuditTail(audit: Command, { run }: CommandContext): void {
  audit
    .command('tail')
    .description('the latest audit events of an organisation, oldest first; --follow keeps printing new ones')
    .argument('<orgId>')
    .option('-n, --limit <n>', 'how many', (v) => Number.parseInt(v, 10), 20)
    .option('-f, --follow', 'poll for new events until interrupted')
    .action(
      run(async (session, print, orgId: string, options: { limit: number; follow?: boolean }) => {
        const log = new AuditLog(await session.mongo());
        let last: Date | undefined;
        const show = (events: AuditEventDocument[]) => {
          for (const event of events) {
            print(event, formatEvent(event));
            last = event.occurredAt;
          }
        };
        show(await log.recent(orgId, options.limit));
        while (options.follow) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          show(await log.recent(orgId, 1_000, last));
        }
      }),
    );
}

function formatEvent(event: AuditEventDocument): string {
  const target = event.resourceType ? ` ${event.resourceType} ${event.resourceId ?? ''}` : '';
  const changed = event.changedAttributes.length ? ` [${event.changedAttributes.join(', ')}]` : '';
  const details = event.details ? ` ${JSON.stringify(event.details)}` : '';
  return `${event.occurredAt.toISOString()} ${event.action}${target}${changed} by ${event.actor.type}:${event.actor.id}${details}`;
}
