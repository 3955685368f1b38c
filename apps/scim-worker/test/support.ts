import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@scimbridge/logger';
import type { StoreProfile } from '@scimbridge/store';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import {
  defaultWorkerSettings,
  startScimWorker,
  type ScimWorker,
  type WorkerSettings,
} from '../src/index.js';
import { workerCollections, type WorkerCollections } from '../src/store/collections.js';
import { applyOrganisation } from '@scimbridge/tenancy';
import type { AuditEventDocument, UserDocument, WebhookSinkSettings } from '../src/store/documents.js';

/** A time-ordered UUIDv7, like the api's ids. */
export function uuidv7(at = Date.now()): string {
  const hex = at.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = `${hex.slice(0, 12)}7${hex.slice(13, 16)}${variant}${hex.slice(17, 32)}`;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

export async function connectMongo(uri: string, dbName: string): Promise<Connection> {
  return mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 5_000 }).asPromise();
}

/**
 * Fast retries so failure paths finish in seconds. The test receivers listen on plain http on loopback, which
 * the default egress policy refuses: these tests allow exactly that (egress.test.ts proves the defaults).
 */
export const fastSettings: Partial<WorkerSettings> = {
  AUDIT_WEBHOOK_ALLOW_HTTP: true,
  AUDIT_WEBHOOK_ALLOWED_CIDRS: ['127.0.0.0/8', '::1/128'],
  AUDIT_WEBHOOK_BACKOFF_MS: 50,
  AUDIT_WEBHOOK_MAX_BACKOFF_MS: 2_000,
  AUDIT_WEBHOOK_TIMEOUT_MS: 2_000,
  SETTINGS_CACHE_MS: 0,
  RELAY_INTERVAL_MS: 300,
  RELAY_MIN_AGE_MS: 300,
};

export interface TestWorker extends ScimWorker {
  redis: Redis;
  registry: Registry;
  auditLines: () => { stream: string; event: { id: string } }[];
  stop(): Promise<void>;
}

/** The worker in-process, with its JSON-lines audit stream captured. */
export async function startTestWorker(
  mongo: Connection,
  redisUrl: string,
  settings: Partial<WorkerSettings> & { QUEUE_PREFIX: string },
  options: { relay?: boolean; storeProfile?: StoreProfile } = {},
): Promise<TestWorker> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const registry = new Registry();
  const audit = new PassThrough();
  let captured = '';
  audit.on('data', (chunk: Buffer) => (captured += chunk.toString()));
  const worker = await startScimWorker({
    mongo,
    redis,
    settings: { ...defaultWorkerSettings, ...fastSettings, ...settings },
    logger: createLogger({ service: 'scim-worker-test', level: 'silent' }),
    registry,
    auditDestination: audit,
    relay: options.relay ?? false,
    ...(options.storeProfile ? { storeProfile: options.storeProfile } : {}),
  });
  return {
    ...worker,
    redis,
    registry,
    auditLines: () =>
      captured
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    async stop() {
      await worker.close();
      redis.disconnect();
    },
  };
}

/** What the api does for an audited write: store the event with `dispatchedAt: null`. */
export async function storeAuditEvent(
  collections: WorkerCollections,
  orgId: string,
  overrides: Partial<AuditEventDocument> = {},
): Promise<AuditEventDocument> {
  const event: AuditEventDocument = {
    _id: uuidv7(),
    orgId,
    action: 'user.created',
    actor: { type: 'token', id: 'tok-1' },
    resourceType: 'User',
    resourceId: uuidv7(),
    changedAttributes: ['userName'],
    requestId: `req-${randomBytes(4).toString('hex')}`,
    traceId: randomBytes(16).toString('hex'),
    occurredAt: new Date(),
    dispatchedAt: null,
    ...overrides,
  };
  await collections.auditEvents.insertOne(event);
  return event;
}

/** An organisation with webhook sinks, through tenancy's own write path (as the controller stores it). */
export async function storeOrganisation(
  connection: Connection,
  orgId: string,
  webhooks: WebhookSinkSettings[],
): Promise<void> {
  await applyOrganisation(connection, orgId, { displayName: orgId, audit: { webhooks } });
}

/** A SCIM-provisioned account (what the api stores for a created user). */
export async function storeUser(
  collections: WorkerCollections,
  orgId: string,
  extra: Partial<UserDocument> = {},
): Promise<string> {
  const id = uuidv7();
  await collections.users.insertOne({
    _id: id,
    orgId,
    userName: `user-${id}`,
    userNameKey: `user-${id}`,
    meta: { resourceType: 'User', version: 1 },
    scim: { managed: true },
    auth: { ssoOnly: true },
    ...extra,
  });
  return id;
}

export async function storeGroup(
  collections: WorkerCollections,
  orgId: string,
  displayName: string,
): Promise<string> {
  const id = uuidv7();
  await collections.groups.insertOne({
    _id: id,
    orgId,
    displayName,
    displayNameKey: displayName.toLowerCase(),
    meta: { resourceType: 'Group', version: 1, lastModified: new Date(0) },
  });
  return id;
}

export interface ReceivedDelivery {
  eventId: string;
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
  /** Status this receiver answered (0 while it holds the request). */
  status: number;
}

export type ReceiverBehaviour = (
  delivery: ReceivedDelivery,
  attempt: number,
) => { status: number; headers?: Record<string, string>; delayMs?: number };

/** A real HTTP webhook receiver on a loopback port. */
export class WebhookReceiver {
  readonly requests: ReceivedDelivery[] = [];
  private server: Server | undefined;
  private readonly attemptsByEvent = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(public behaviour: ReceiverBehaviour = () => ({ status: 200 })) {}

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/audit`;
  }

  /** Requests held open right now. */
  pending(): number {
    return this.requests.filter((r) => r.status === 0).length;
  }

  /** Acknowledged (2xx) deliveries per event id. */
  acknowledged(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.requests)
      if (r.status >= 200 && r.status < 300) counts.set(r.eventId, (counts.get(r.eventId) ?? 0) + 1);
    return counts;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const eventId = String(req.headers['x-scimbridge-event-id'] ?? '');
      const attempt = (this.attemptsByEvent.get(eventId) ?? 0) + 1;
      this.attemptsByEvent.set(eventId, attempt);
      const delivery: ReceivedDelivery = { eventId, body, headers: req.headers, at: Date.now(), status: 0 };
      this.requests.push(delivery);
      const answer = this.behaviour(delivery, attempt);
      const respond = () => {
        // The sender went away (e.g. a killed worker): nothing was acknowledged.
        if (res.destroyed || !res.socket || res.socket.destroyed) return;
        delivery.status = answer.status;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end('{}');
      };
      if (!answer.delayMs) return respond();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        respond();
      }, answer.delayMs);
      this.timers.add(timer);
    });
  }
}

export { workerCollections };

/** The worker as its own process (`src/main.ts` through tsx), for crash and signal tests. */
export function spawnWorkerProcess(env: Record<string, string>): Promise<ServiceProcess> {
  // The test receivers are plain http on loopback (see fastSettings).
  const egress = { AUDIT_WEBHOOK_ALLOW_HTTP: 'true', AUDIT_WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8,::1/128' };
  return spawnService('scim-worker', { ...egress, ...env }, /scim-worker processing jobs/);
}

export type ServiceProcess = ChildProcess & { output: () => string; port: () => number };

/** An app of this repository as its own process, from source (`apps/<app>/src/main.ts` through tsx). */
export async function spawnService(
  app: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<ServiceProcess> {
  const appDir = fileURLToPath(new URL(`../../${app}/`, import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=@scimbridge/source', '--import', 'tsx', 'src/main.ts'],
    {
      cwd: appDir,
      env: { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${app} did not start:\n${output}`)), 60_000);
    const check = () => {
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited with ${code}:\n${output}`));
    });
  });
  return Object.assign(child, {
    output: () => output,
    port: () => Number(/listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]),
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
