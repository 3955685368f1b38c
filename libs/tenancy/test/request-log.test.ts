import { ManagedProcess, dataDir, freePort, toolPath, waitFor } from '@scimbridge/testing';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RequestLogWriter,
  requestLogCollection,
  requestLogEntry,
  type RequestLogEntry,
} from '../src/index.js';

// A FerretDB of this file's own on a fixed port, so it can be stopped and started again under one connection.
let ferret: ManagedProcess;
let connection: Connection;
let port: number;

async function startFerret(): Promise<void> {
  const ready = ferret.waitForLine(/^mongodb:\/\//);
  ferret.start();
  await ready;
}

beforeAll(async () => {
  port = await freePort();
  const dir = dataDir('request-log-outage');
  ferret = new ManagedProcess({
    name: 'request-log-outage',
    command: toolPath('ferretdb'),
    args: ['-listen', `127.0.0.1:${port}`, '-sqlite-dir', dir, '-log-level', 'warn'],
    dataDir: dir,
  });
  await startFerret();
  connection = await mongoose
    .createConnection(`mongodb://127.0.0.1:${port}/`, {
      dbName: 'request_log',
      serverSelectionTimeoutMS: 500,
      bufferCommands: false,
    })
    .asPromise();
});
afterAll(async () => {
  await connection?.close().catch(() => undefined);
  await ferret?.stop();
  ferret?.removeData();
});

const entry = (orgId: string): RequestLogEntry =>
  requestLogEntry({
    orgId,
    at: new Date(),
    method: 'GET',
    route: '/scim/v2/Users',
    status: 401,
    requestId: 'r',
  });

describe('RequestLogWriter during a database outage', () => {
  it('never waits or throws for a record, counts what the outage lost and writes the count once the database is back', async () => {
    const dropped: Record<string, number> = {};
    const errors: unknown[] = [];
    const writer = new RequestLogWriter(connection, {
      perOrgPerMinute: 10_000,
      retentionDays: 1,
      maxBuffered: 300,
      flushMs: 60_000,
      batchSize: 1_000,
      onDropped: (n, cause) => (dropped[cause] = (dropped[cause] ?? 0) + n),
      onError: (error) => errors.push(error),
    });
    try {
      for (let i = 0; i < 3; i++) writer.record(entry('acme'));
      await writer.flush();
      const logs = requestLogCollection(connection);
      expect(await logs.countDocuments({ orgId: 'acme', kind: 'request' })).toBe(3);

      await ferret.stop();
      const started = performance.now();
      for (let i = 0; i < 500; i++) writer.record(entry('acme'));
      const recordMs = performance.now() - started;
      // 300 buffered (the cap), 200 dropped at once; recording 500 took no database round trip.
      expect(dropped).toEqual({ buffer: 200 });
      expect(recordMs).toBeLessThan(100);
      const flushStarted = Date.now();
      await writer.flush(); // resolves: the failed write is counted, not thrown
      expect(Date.now() - flushStarted).toBeLessThan(5_000);
      expect(errors.length).toBe(1);
      expect(dropped).toEqual({ buffer: 200, database: 300 });

      await startFerret();
      await waitFor(
        'the connection to come back',
        async () => {
          writer.record(entry('probe'));
          await writer.flush();
          return (await logs.countDocuments({ orgId: 'probe' }).catch(() => 0)) > 0;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      const records = await logs.find({ orgId: 'acme' }).toArray();
      expect(records.filter((r) => r.kind === 'request')).toHaveLength(3);
      // Every record the outage cost is counted exactly once: 200 over the buffer cap, 300 in the failed write.
      expect(records.filter((r) => r.kind === 'dropped').reduce((n, r) => n + (r.dropped ?? 0), 0)).toBe(500);
    } finally {
      await writer.close();
    }
  });
});
