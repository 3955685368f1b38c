import { applyOrganisation } from '@scimbridge/tenancy';
import type { Command } from 'commander';
import { forceOption, refuseIfManagedByKubernetes } from '../managed.js';
import type { CommandContext } from '../session.js';
import { readTenantFile } from '../tenant-file.js';

/** `scimctl apply -f FILE`: an organisation's settings from a ScimTenant manifest or spec. */
export function registerApply(parent: Command, { run }: CommandContext): void {
  parent
    .command('apply')
    .description('create or update an organisation from a ScimTenant manifest or spec (YAML or JSON)')
    .requiredOption('-f, --file <path>', 'the manifest')
    .addOption(forceOption())
    .action(
      run(async (session, print, options: { file: string; force?: boolean }) => {
        const file = await readTenantFile(options.file);
        await refuseIfManagedByKubernetes(await session.mongo(), file.orgId, options.force);
        const organisation = await applyOrganisation(
          await session.mongo(),
          file.orgId,
          file.settings,
          await session.pubsub(),
        );
        const summary = { orgId: organisation.id, settings: organisation.settings, ignored: file.ignored };
        print(
          summary,
          `organisation ${organisation.id} applied${file.ignored.length ? ` (ignored: ${file.ignored.join(', ')}; use "scimctl token" and "scimctl client")` : ''}`,
        );
      }),
    );
}
