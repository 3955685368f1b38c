import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, mongoEnv, redisEnv } from '@scimbridge/config';
import { QueueName } from '@scimbridge/jobs';
import { Queue } from 'bullmq';
import { detectStoreProfile } from '@scimbridge/store';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { z } from 'zod';
import { deadLetterCollections } from './collections.js';
import { listDeadLetters, redriveDeadLetters, type DeadLetterFilter } from './dead-letters.js';
import { auditDeliveryEnv } from './settings.js';

export const AUDIT_DEAD_LETTERS_USAGE = `usage: audit dead-letters list    [--org ID] [--sink NAME] [--event ID] [--status dead|redriving|redelivered|all] [--limit N] [--json]
       audit dead-letters redrive (--org ID | --sink NAME | --event ID | --id ID... | --all) [--limit N]

Reads MONGODB_URI (list, redrive), REDIS_URL and QUEUE_PREFIX (redrive) from the environment.`;

const cliEnv = mongoEnv
  .extend(redisEnv.partial().shape)
  .extend({ QUEUE_PREFIX: auditDeliveryEnv.shape.QUEUE_PREFIX });

/**
 * `scimctl audit dead-letters list|redrive` (and `scim-worker-admin audit dead-letters …`): the operator's view of
 * audit deliveries that used up their retry budget. Returns the exit code; writes results to `out` and problems
 * to `err`.
 */
export async function runAuditDeadLettersCommand(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        org: { type: 'string' },
        sink: { type: 'string' },
        event: { type: 'string' },
        id: { type: 'string', multiple: true },
        status: { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n${AUDIT_DEAD_LETTERS_USAGE}`);
    return 64;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help || (action !== 'list' && action !== 'redrive')) {
    (values.help ? out : err)(AUDIT_DEAD_LETTERS_USAGE);
    return values.help ? 0 : 64;
  }
  const status = z.enum(['dead', 'redriving', 'redelivered', 'all']).optional().safeParse(values.status);
  const limit = z.coerce.number().int().positive().max(100_000).optional().safeParse(values.limit);
  if (!status.success || !limit.success) {
    err(
      `--status must be dead|redriving|redelivered|all and --limit a positive integer\n${AUDIT_DEAD_LETTERS_USAGE}`,
    );
    return 64;
  }
  const filter: DeadLetterFilter = {
    ...(values.org ? { orgId: values.org } : {}),
    ...(values.sink ? { sink: values.sink } : {}),
    ...(values.event ? { eventId: values.event } : {}),
    ...(values.id ? { ids: values.id } : {}),
    ...(status.data ? { status: status.data } : {}),
    ...(limit.data ? { limit: limit.data } : {}),
  };
  if (
    action === 'redrive' &&
    !values.all &&
    !filter.orgId &&
    !filter.sink &&
    !filter.eventId &&
    !filter.ids
  ) {
    err('redrive needs a filter (--org, --sink, --event, --id) or --all');
    return 64;
  }

  let config;
  let settings;
  try {
    config = loadConfig(cliEnv, env);
    settings = loadConfig(auditDeliveryEnv, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(error.message);
    return 78;
  }
  if (action === 'redrive' && !config.REDIS_URL) {
    err('redrive needs REDIS_URL');
    return 78;
  }
  const connection = await mongoose
    .createConnection(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 })
    .asPromise();
  try {
    const collections = deadLetterCollections(connection);
    if (action === 'list') {
      const letters = await listDeadLetters(collections, filter);
      if (values.json) for (const letter of letters) out(JSON.stringify(letter));
      else {
        out(['ID', 'ORG', 'SINK', 'STATUS', 'REASON', 'ATTEMPTS', 'DEAD-LETTERED', 'REDRIVES'].join('\t'));
        for (const l of letters) {
          out(
            [
              l._id,
              l.orgId,
              l.sink,
              l.status,
              l.reason,
              l.attempts,
              l.deadLetteredAt.toISOString(),
              l.redriveCount,
            ].join('\t'),
          );
        }
      }
      return 0;
    }
    const redis = new Redis(config.REDIS_URL!, { maxRetriesPerRequest: 3 });
    const queue = new Queue(QueueName.auditDelivery, { connection: redis, prefix: config.QUEUE_PREFIX });
    try {
      const letters = await redriveDeadLetters(
        collections,
        queue,
        settings,
        filter,
        await detectStoreProfile(connection),
      );
      for (const letter of letters) out(`redriving ${letter._id}`);
      out(`${letters.length} dead letter(s) re-driven`);
      return 0;
    } finally {
      await queue.close();
      await redis.quit();
    }
  } finally {
    await connection.close();
  }
}
