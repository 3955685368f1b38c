import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, freePort } from '@scimbridge/testing';
import { Queue } from 'bullmq';
import { MongoClient, type Db } from 'mongodb';
import { FaultFerretDB, FaultRedis, ServiceProcess, scimctl, type CliResult } from './servers.js';
import { WebhookSink } from './sink.js';

export interface ReadinessProbe {
  /** Index into the watched processes. */
  api: number;
  at: number;
  /** 0: no answer. */
  status: number;
  body: string;
}

/** Polls every api process's /readyz on a fixed period for the whole run. */
export class ReadinessWatch {
  readonly probes: ReadinessProbe[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apis: ServiceProcess[],
    private readonly periodMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.apis.forEach((api, index) => void this.probe(api, index));
    }, this.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async probe(api: ServiceProcess, index: number): Promise<void> {
    const at = Date.now();
    try {
      const response = await fetch(`${api.base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      this.probes.push({
        api: index,
        at,
        status: response.status,
        body: (await response.text()).slice(0, 300),
      });
    } catch {
      this.probes.push({ api: index, at, status: 0, body: '' });
    }
  }

  between(from: number, to: number): ReadinessProbe[] {
    return this.probes.filter((p) => p.at >= from && p.at <= to);
  }
}

export interface Organisation {
  orgId: string;
  token: string;
}

/**
 * Everything the fault suite runs against: its own FerretDB and Redis, two api processes, two workers
 * and the webhook sink, with organisations set up through `scimctl` (the operator's path).
 */
export class FaultStack {
  readonly database = `faults_${randomUUID().slice(0, 8)}`;
  ferretdb!: FaultFerretDB;
  redis!: FaultRedis;
  readonly sink = new WebhookSink(150);
  apis: ServiceProcess[] = [];
  workers: ServiceProcess[] = [];
  mongo!: MongoClient;
  db!: Db;

  async start(): Promise<void> {
    [this.ferretdb, this.redis] = await Promise.all([FaultFerretDB.start(), FaultRedis.start()]);
    await this.sink.start();
    const env = { MONGODB_URI: this.mongoUri, REDIS_URL: this.redis.url };
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    this.apis = [0, 1].map((i) => new ServiceProcess('scim-api', `faults-api-${i}`, ports[i]!, env));
    this.workers = [0, 1].map(
      (i) =>
        new ServiceProcess('scim-worker', `faults-worker-${i}`, ports[2 + i]!, {
          ...env,
          // A crashed worker's jobs come back after the lock expires; fast retries keep the run short.
          JOB_LOCK_MS: '2000',
          RELAY_INTERVAL_MS: '2000',
          RELAY_MIN_AGE_MS: '2000',
          AUDIT_WEBHOOK_BACKOFF_MS: '100',
          AUDIT_WEBHOOK_MAX_BACKOFF_MS: '2000',
          AUDIT_WEBHOOK_ATTEMPTS: '60',
          AUDIT_WEBHOOK_TIMEOUT_MS: '3000',
          SETTINGS_CACHE_MS: '1000',
          // The sink listens on loopback over http, which the egress policy refuses unless allowed.
          AUDIT_WEBHOOK_ALLOW_HTTP: 'true',
          AUDIT_WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
        }),
    );
    // The first api creates the indexes; the others start once they exist.
    await this.apis[0]!.start();
    await Promise.all([this.apis[1]!.start(), ...this.workers.map((w) => w.start())]);
    this.mongo = new MongoClient(this.ferretdb.uri, {
      directConnection: true,
      serverSelectionTimeoutMS: 30_000,
    });
    this.db = this.mongo.db(this.database);
  }

  get mongoUri(): string {
    return this.ferretdb.uriFor(this.database);
  }

  cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
    return scimctl(
      ['--json', '--mongodb-uri', this.mongoUri, '--redis-url', this.redis.url, ...args],
      {},
      timeoutMs,
    );
  }

  /** `scimctl apply` of a spec, then `scimctl token issue`. */
  async organisation(spec: Record<string, unknown>): Promise<Organisation> {
    const orgId = String(spec.organisationId);
    const file = join(dataDir('faults-spec'), `${orgId}.json`);
    writeFileSync(file, JSON.stringify(spec));
    const applied = await this.cli(['apply', '-f', file]);
    if (applied.code !== 0) throw new Error(`scimctl apply failed: ${applied.stderr}${applied.stdout}`);
    const issued = await this.cli(['token', 'issue', orgId]);
    if (issued.code !== 0) throw new Error(`scimctl token issue failed: ${issued.stderr}${issued.stdout}`);
    const { token } = JSON.parse(issued.stdout.trim().split('\n').pop()!) as { token: string };
    return { orgId, token };
  }

  /** BullMQ job counts per queue (diagnostics for the summary). */
  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of ['scim-provisioning', 'scim-audit', 'scim-audit-delivery']) {
      const queue = new Queue(name, {
        connection: { host: '127.0.0.1', port: this.redis.port },
        prefix: 'scimbridge',
      });
      try {
        out[name] = await queue.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'completed',
          'failed',
          'prioritized',
        );
      } catch (error) {
        out[name] = { error: 1 };
        void error;
      } finally {
        await queue.close();
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apis, ...this.workers].map((s) => s.stop()));
    await this.mongo?.close().catch(() => undefined);
    await this.sink.stop();
    await this.redis?.remove();
    await this.ferretdb?.stop();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
