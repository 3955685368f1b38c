import {
  eventSigningKeyCollection,
  loadEventSigningKeys,
  MAX_EVENT_STREAMS,
  rotateEventSigningKey,
  type EventSigningKeySetDocument,
} from '@scimbridge/tenancy';
import { Option, type Command } from 'commander';
import { SETTINGS_BROADCAST_NOTE } from '../broadcast-note.js';
import { durationOption, formatDuration } from '../duration.js';
import { forceOption } from '../managed.js';
import { editSettings, requireOrganisation } from '../settings-edit.js';
import type { CommandContext } from '../session.js';

const FIELD = 'spec.audit.eventStreams';
const JWKS_PATH = '/.well-known/scim-events/jwks.json';

/** The key set without its private parts: what an operator may see. */
function describeKeys(set: EventSigningKeySetDocument, now = new Date()) {
  return set.keys.map((key) => ({
    kid: key.kid,
    alg: key.alg,
    createdAt: key.createdAt.toISOString(),
    activeFrom: key.activeFrom.toISOString(),
    verifyUntil: key.verifyUntil?.toISOString() ?? null,
    published: key.verifyUntil === null || key.verifyUntil.getTime() > now.getTime(),
  }));
}

/**
 * `scimctl events add|remove|list ORG` (RFC 9967 SCIM events pushed by RFC 8935 to an organisation's receivers,
 * settings.audit.eventStreams) and `scimctl events keys list|rotate` (the service's signing keys, published by the
 * api at /.well-known/scim-events/jwks.json).
 */
export function registerEvents(parent: Command, { run, io }: CommandContext): void {
  const events = parent
    .command('events')
    .description('RFC 9967 SCIM events: receivers of signed SETs (RFC 8935 push) and the signing keys');

  events
    .command('add')
    .description(`add or replace an event stream (at most ${MAX_EVENT_STREAMS} per organisation)`)
    .argument('<orgId>')
    .requiredOption('--name <name>', 'the stream name (letters, digits, "-"), unique in the organisation')
    .requiredOption('--url <url>', "the receiver's RFC 8935 push endpoint (https)")
    .requiredOption('--audience <aud>', 'the `aud` claim the receiver expects')
    .addOption(
      new Option(
        '--authorization-env <VAR>',
        'environment variable holding the Authorization header value the receiver asks for (e.g. "Bearer …")',
      ),
    )
    .addOption(forceOption())
    .action(
      run(
        async (
          session,
          print,
          orgId: string,
          options: {
            name: string;
            url: string;
            audience: string;
            authorizationEnv?: string;
            force?: boolean;
          },
        ) => {
          let authorization: string | null = null;
          if (options.authorizationEnv) {
            authorization = io.env[options.authorizationEnv] ?? '';
            if (!authorization) throw new Error(`${options.authorizationEnv} is not set`);
          }
          const stream = { name: options.name, url: options.url, audience: options.audience, authorization };
          const { after } = await editSettings(
            session,
            orgId,
            { force: options.force, field: FIELD },
            (s) => {
              const others = s.audit.eventStreams.filter((e) => e.name !== options.name);
              s.audit.eventStreams = [...others, stream];
              return s;
            },
          );
          print(
            {
              orgId,
              eventStreams: after.audit.eventStreams.map((e) => e.name),
              broadcast: session.broadcast(),
            },
            `event stream ${options.name} → ${options.url} (aud ${options.audience}) set for ${orgId}\n` +
              `(receivers verify the SETs with the keys at <api public base>${JWKS_PATH})` +
              SETTINGS_BROADCAST_NOTE[session.broadcast()],
          );
        },
      ),
    );

  events
    .command('remove')
    .description('remove an event stream; events not yet delivered to it are dropped for it')
    .argument('<orgId>')
    .argument('<name>')
    .addOption(forceOption())
    .action(
      run(async (session, print, orgId: string, name: string, options: { force?: boolean }) => {
        let found = false;
        await editSettings(session, orgId, { force: options.force, field: FIELD }, (s) => {
          found = s.audit.eventStreams.some((e) => e.name === name);
          s.audit.eventStreams = s.audit.eventStreams.filter((e) => e.name !== name);
          return s;
        });
        if (!found) throw new Error(`organisation ${orgId} has no event stream ${name}`);
        print(
          { orgId, removed: name, broadcast: session.broadcast() },
          `event stream ${name} removed from ${orgId}${SETTINGS_BROADCAST_NOTE[session.broadcast()]}`,
        );
      }),
    );

  events
    .command('list')
    .description("an organisation's event streams (Authorization values are not shown)")
    .argument('<orgId>')
    .action(
      run(async (session, print, orgId: string) => {
        const { settings } = await requireOrganisation(session, orgId);
        const streams = settings.audit.eventStreams.map((e) => ({
          name: e.name,
          url: e.url,
          audience: e.audience,
          authorization: e.authorization !== null,
        }));
        print(
          { orgId, eventStreams: streams },
          streams.length === 0
            ? `${orgId} has no event streams`
            : ['NAME\tURL\tAUDIENCE\tAUTHORIZATION']
                .concat(
                  streams.map((e) => `${e.name}\t${e.url}\t${e.audience}\t${e.authorization ? 'yes' : 'no'}`),
                )
                .join('\n'),
        );
      }),
    );

  const keys = events
    .command('keys')
    .description('the keys that sign SCIM events (shared by all organisations)');
  keys
    .command('list')
    .description('key ids, when each signs from and until when it is published')
    .action(
      run(async (session, print) => {
        const described = describeKeys(
          await loadEventSigningKeys(eventSigningKeyCollection(await session.mongo())),
        );
        print(
          { keys: described },
          ['KID\tALG\tACTIVE-FROM\tPUBLISHED-UNTIL']
            .concat(described.map((k) => `${k.kid}\t${k.alg}\t${k.activeFrom}\t${k.verifyUntil ?? 'newest'}`))
            .join('\n'),
        );
      }),
    );
  keys
    .command('rotate')
    .description(
      'add a new signing key: published at once, signing after --publish-before, old keys kept for --grace',
    )
    .option(
      '--publish-before <duration>',
      'how long the new key is published before it signs',
      durationOption,
      300_000,
    )
    .option(
      '--grace <duration>',
      'how long the keys it replaces stay published after that',
      durationOption,
      604_800_000,
    )
    .action(
      run(async (session, print, options: { publishBefore: number; grace: number }) => {
        const collection = eventSigningKeyCollection(await session.mongo());
        const key = await rotateEventSigningKey(collection, {
          publishBeforeSeconds: options.publishBefore / 1000,
          graceSeconds: options.grace / 1000,
        });
        print(
          {
            kid: key.kid,
            activeFrom: key.activeFrom.toISOString(),
            keys: describeKeys(await loadEventSigningKeys(collection)),
          },
          `new signing key ${key.kid}: published now, signs from ${key.activeFrom.toISOString()} ` +
            `(in ${formatDuration(options.publishBefore)}); the previous keys stay published ${formatDuration(options.grace)} longer`,
        );
      }),
    );
}
