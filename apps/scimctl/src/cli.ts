import { AuditLog, createAccount, ensureStoreIndexes, type AuditEventDocument } from '@scimbridge/store';
import {
  applyOrganisation,
  countUsersAndGroups,
  ensureTenancyIndexes,
  getOrganisation,
  issueToken,
  listTokens,
  organisationOwner,
  revokeTokens,
  rotateToken,
} from '@scimbridge/tenancy';
import { Command, Option } from 'commander';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { registerAuditDeadLetters } from './commands/audit-dead-letters.js';
import { readTenantFile } from './tenant-file.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

interface GlobalOptions {
  json?: boolean;
  mongodbUri?: string;
  redisUrl?: string;
}

/** Connections opened lazily per command and closed when it ends. */
class Session {
  private connection?: Connection;
  private redis?: Redis;

  constructor(
    private readonly options: GlobalOptions,
    private readonly env: CliIo['env'],
  ) {}

  async mongo(): Promise<Connection> {
    if (this.connection) return this.connection;
    const uri = this.options.mongodbUri ?? this.env.MONGODB_URI;
    if (!uri) throw new Error('set MONGODB_URI or pass --mongodb-uri');
    this.connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5_000 }).asPromise();
    await ensureTenancyIndexes(this.connection);
    await ensureStoreIndexes(this.connection);
    return this.connection;
  }

  /**
   * Token and settings changes are broadcast so every api replica acts at once. Redis unreachable is not an error:
   * the change is in MongoDB, its broadcast waits in the outbox for an api replica to publish, and replicas trust
   * their caches at most 1 s while their own subscription is down.
   */
  async pubsub(): Promise<Redis> {
    if (this.redis) return this.redis;
    const url = this.options.redisUrl ?? this.env.REDIS_URL;
    if (!url)
      throw new Error('set REDIS_URL or pass --redis-url (token changes are broadcast to every api replica)');
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 2_000 });
    this.redis.on('error', () => undefined);
    await this.redis.connect().catch(() => undefined);
    return this.redis;
  }

  /** Whether the broadcast went out now, or waits in the outbox for an api replica (Redis unreachable from here). */
  broadcast(): 'published' | 'pending' {
    return this.redis?.status === 'ready' ? 'published' : 'pending';
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
    await this.connection?.close();
  }
}

const BROADCAST_NOTE = {
  published: '',
  pending:
    '\n(Redis unreachable: the change is stored; its broadcast is pending and an api replica publishes it when it can. Replicas without the broadcast refuse old tokens within 1 s.)',
} as const;

function printer(io: CliIo, json: boolean) {
  return (value: unknown, human: string) => io.out(json ? JSON.stringify(value) : human);
}

/**
 * An organisation a ScimTenant manages is changed through that resource: the controller would overwrite settings
 * applied here on its next reconcile, and a token minted here would replace the one in the tenant's Secret.
 * `--force` is for when the cluster is gone.
 */
async function refuseIfManagedByKubernetes(
  connection: Connection,
  orgId: string,
  force: boolean | undefined,
) {
  const owner = await organisationOwner(connection, orgId);
  if (owner && !force)
    throw new Error(
      `organisation ${orgId} is managed by ScimTenant ${owner.namespace}/${owner.name}; change it there (kubectl -n ${owner.namespace} edit scimtenant ${owner.name}), or pass --force`,
    );
}

const forceOption = () =>
  new Option('--force', 'act even though a Kubernetes ScimTenant manages the organisation');

/** The scimctl command tree; `io` makes it testable in-process. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('scimctl')
    .description(
      'Administer scimbridge organisations without Kubernetes: settings, tokens, accounts, audit log.',
    )
    .addOption(new Option('--json', 'machine-readable output (one JSON document per line)'))
    .addOption(new Option('--mongodb-uri <uri>', 'MongoDB connection string (default: $MONGODB_URI)'))
    .addOption(new Option('--redis-url <url>', 'Redis URL (default: $REDIS_URL)'))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const run =
    <A extends unknown[]>(
      action: (session: Session, print: ReturnType<typeof printer>, ...args: A) => Promise<void>,
    ) =>
    async (...args: A) => {
      const options = program.opts<GlobalOptions>();
      const session = new Session(options, io.env);
      try {
        await action(session, printer(io, options.json === true), ...args);
      } finally {
        await session.close();
      }
    };

  program
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
          `organisation ${organisation.id} applied${file.ignored.length ? ` (ignored: ${file.ignored.join(', ')}; use "scimctl token")` : ''}`,
        );
      }),
    );

  program
    .command('show')
    .description("an organisation's settings, tokens (fingerprints only) and user/group counts")
    .argument('<orgId>')
    .action(
      run(async (session, print, orgId: string) => {
        const connection = await session.mongo();
        const organisation = await getOrganisation(connection, orgId);
        if (!organisation) throw new Error(`organisation ${orgId} not found`);
        const tokens = (await listTokens(connection, orgId)).map(
          ({ tokenId, fingerprint, issuedAt, lastUsedAt }) => ({
            tokenId,
            fingerprint,
            issuedAt,
            lastUsedAt,
          }),
        );
        const counts = await countUsersAndGroups(connection, orgId);
        const owner = await organisationOwner(connection, orgId);
        const { settings } = organisation;
        print(
          {
            orgId,
            settings: redactWebhooks(settings),
            deleting: organisation.deleting,
            tokens,
            counts,
            managedBy: owner ? { namespace: owner.namespace, name: owner.name } : null,
          },
          [
            `organisation  ${orgId} (${settings.displayName})`,
            `managed by    ${owner ? `ScimTenant ${owner.namespace}/${owner.name}` : 'scimctl (no ScimTenant)'}`,
            `enabled       ${settings.enabled}   plan includes SCIM: ${settings.plan.scimIncluded}   user limit: ${settings.plan.userLimit ?? 'none'}`,
            `default group ${settings.defaultGroup ?? 'none'}   rate limit: ${settings.rateLimit.requestsPerSecond}/s burst ${settings.rateLimit.burst}`,
            `webhooks      ${settings.audit.webhooks.map((w) => `${w.name} → ${w.url}`).join(', ') || 'none'}`,
            `users/groups  ${counts.users}/${counts.groups}`,
            `tokens        ${tokens.map((t) => `${t.fingerprint} issued ${t.issuedAt.toISOString()} last used ${t.lastUsedAt?.toISOString() ?? 'never'}`).join('; ') || 'none'}`,
          ].join('\n'),
        );
      }),
    );

  const token = program.command('token').description('issue, rotate or revoke the organisation bearer token');
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

  program
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
      run(
        async (
          session,
          print,
          orgId: string,
          options: {
            userName: string;
            email?: string;
            givenName?: string;
            familyName?: string;
            displayName?: string;
            passwordHash?: string;
          },
        ) => {
          const account = await createAccount(await session.mongo(), orgId, options);
          print(
            { orgId, id: account._id, userName: options.userName },
            `account ${account._id} (${options.userName}) created in ${orgId}`,
          );
        },
      ),
    );

  program
    .command('audit')
    .description('the audit log')
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

  registerAuditDeadLetters(program, io);
  return program;
}

function formatEvent(event: AuditEventDocument): string {
  const target = event.resourceType ? ` ${event.resourceType} ${event.resourceId ?? ''}` : '';
  const changed = event.changedAttributes.length ? ` [${event.changedAttributes.join(', ')}]` : '';
  const details = event.details ? ` ${JSON.stringify(event.details)}` : '';
  return `${event.occurredAt.toISOString()} ${event.action}${target}${changed} by ${event.actor.type}:${event.actor.id}${details}`;
}

/** Webhook HMAC secrets are not printed back. */
function redactWebhooks<T extends { audit: { webhooks: { secret: string }[] } }>(settings: T): T {
  return {
    ...settings,
    audit: { ...settings.audit, webhooks: settings.audit.webhooks.map((w) => ({ ...w, secret: '***' })) },
  };
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
