import type { Command } from 'commander';
import { SETTINGS_BROADCAST_NOTE } from '../broadcast-note.js';
import { forceOption } from '../managed.js';
import { editSettings } from '../settings-edit.js';
import type { CommandContext } from '../session.js';

/**
 * `scimctl pause|resume ORG`: maintenance without the IdP marking the app as broken. Paused, every SCIM request
 * gets 503 + Retry-After ("provisioning is paused") and the IdP retries later; `enabled: false` would be a 403.
 */
export function registerPause(parent: Command, { run }: CommandContext): void {
  for (const [name, paused, description] of [
    ['pause', true, 'answer every SCIM request with 503 + Retry-After until `resume` (maintenance)'],
    ['resume', false, 'provision again after `pause`'],
  ] as const) {
    parent
      .command(name)
      .description(description)
      .argument('<orgId>')
      .addOption(forceOption())
      .action(
        run(async (session, print, orgId: string, options: { force?: boolean }) => {
          const { before } = await editSettings(
            session,
            orgId,
            { force: options.force, field: 'spec.paused' },
            (s) => {
              s.paused = paused;
              return s;
            },
          );
          const already = before.paused === paused;
          const human = paused
            ? `${orgId} ${already ? 'was already' : 'is'} paused: SCIM requests get 503 + Retry-After ("provisioning is paused") until \`scimctl resume ${orgId}\``
            : `${orgId} ${already ? 'was not paused' : 'resumed: SCIM requests are served again'}`;
          print(
            { orgId, paused, changed: !already, broadcast: session.broadcast() },
            human + SETTINGS_BROADCAST_NOTE[session.broadcast()],
          );
        }),
      );
  }
}
