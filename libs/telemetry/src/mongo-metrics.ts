import { AsyncLocalStorage } from 'node:async_hooks';
import { Histogram, type Registry } from 'prom-client';
import { metric } from './http-metrics.js';
import { recordQueryShapes } from './query-shapes.js';

/** OTel semconv buckets for db.client.operation.duration, in seconds. */
export const DB_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

interface CommandStartedEvent {
  requestId: number;
  connectionId?: unknown;
  commandName: string;
  command: Record<string, unknown>;
}
interface CommandFinishedEvent {
  requestId: number;
  connectionId?: unknown;
  commandName: string;
  duration: number;
  failure?: { name?: string };
}

/**
 * The parts of a `MongoClient` (mongodb driver; `connection.getClient()` in mongoose) used here: command
 * monitoring events. Typed structurally so the library needs no particular driver version.
 */
export interface MongoCommandSource {
  on(event: 'commandStarted', listener: (event: CommandStartedEvent) => void): unknown;
  on(event: 'commandSucceeded' | 'commandFailed', listener: (event: CommandFinishedEvent) => void): unknown;
}

/** What one unit of work (an HTTP request) spent in the database, filled in by `observeMongoCommands`. */
export interface DatabaseTime {
  seconds: number;
  commands: number;
}

const databaseTime = new AsyncLocalStorage<DatabaseTime>();

/** Whether the caller runs inside `withDatabaseTime` (an api request): what an in-process test app records. */
export function insideDatabaseTime(): boolean {
  return databaseTime.getStore() !== undefined;
}

/**
 * Runs `work` with its own `DatabaseTime`: every command it issues (directly or through awaited calls) adds its
 * duration there. The driver emits `commandStarted` in the caller's async context, so it is attributed then.
 */
export function withDatabaseTime<T>(time: DatabaseTime, work: () => T): T {
  return databaseTime.run(time, work);
}

/** Commands that are connection housekeeping, not application operations. */
const HOUSEKEEPING = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'ping',
  'endSessions',
  'saslStart',
  'saslContinue',
]);

/**
 * Records `db_client_operation_duration_seconds{db_system_name, db_operation_name, db_collection_name, outcome}`
 * (OTel db.client.operation.duration) from the driver's command monitoring. Collection names are a fixed,
 * small set; organisation ids never become labels. The client must be created with `monitorCommands: true`
 * (mongoose: `createConnection(uri, { monitorCommands: true })`); the driver emits no command events otherwise.
 * With `SCIMBRIDGE_QUERY_SHAPES_DIR` set it also records the shape of every command for the query-shape audit
 * (`recordQueryShapes`, docs/query-shapes.md), attributed to `options.service`.
 */
export function observeMongoCommands(
  client: MongoCommandSource,
  registry: Registry,
  /** `profile`: the store profile the service chose its query shapes with (recorded with each shape). */
  options: { service?: string; profile?: string } = {},
): void {
  recordQueryShapes(client, {
    service: options.service ?? 'unknown',
    ...(options.profile ? { profile: options.profile } : {}),
  });
  const histogram = metric(
    registry,
    'db_client_operation_duration_seconds',
    () =>
      new Histogram({
        name: 'db_client_operation_duration_seconds',
        help: 'Duration of MongoDB commands (OTel db.client.operation.duration).',
        labelNames: ['db_system_name', 'db_operation_name', 'db_collection_name', 'outcome'],
        buckets: DB_DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  const collections = new Map<string, { collection: string; time: DatabaseTime | undefined }>();
  const key = (event: { requestId: number; connectionId?: unknown }) =>
    `${String(event.connectionId)}:${event.requestId}`;

  client.on('commandStarted', (event) => {
    if (HOUSEKEEPING.has(event.commandName)) return;
    const target = event.command[event.commandName];
    collections.set(key(event), {
      collection: typeof target === 'string' ? target : '',
      time: databaseTime.getStore(),
    });
  });
  const finish = (outcome: string) => (event: CommandFinishedEvent) => {
    const k = key(event);
    const started = collections.get(k);
    if (started === undefined) return;
    collections.delete(k);
    const { collection, time } = started;
    if (time) {
      time.seconds += event.duration / 1000;
      time.commands += 1;
    }
    histogram.observe(
      {
        db_system_name: 'mongodb',
        db_operation_name: event.commandName,
        db_collection_name: collection,
        outcome,
      },
      event.duration / 1000,
    );
  };
  client.on('commandSucceeded', finish('success'));
  client.on('commandFailed', finish('failure'));
}
