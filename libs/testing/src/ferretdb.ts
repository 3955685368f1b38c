import { MongoClient } from 'mongodb';
import { startPostgres, type PostgresServer } from './postgres.js';
import { ManagedProcess, dataDir } from './process.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface MongoServer {
  /** mongodb:// URI without a database name. */
  uri: string;
  /** FerretDB's SQLite directory (one `<database>.sqlite` file per database); the cluster's on PostgreSQL. */
  dataDir: string;
  /** Which FerretDB backend stores the data. */
  backend: FerretBackend;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * `sqlite`: nothing else to start, the test suite's default. `postgresql`: FerretDB over a PostgreSQL cluster
 * started for it, which evaluates the equality conditions FerretDB pushes down (`make dev`'s default; the
 * difference is measured in docs/testing.md "Known limits of the test server").
 */
export type FerretBackend = 'sqlite' | 'postgresql';

/**
 * FerretDB v1 in a fresh data directory on a free port: the project's MongoDB-wire server. Ready when a real
 * `ping` command round-trips, not merely when the port accepts connections.
 */
export async function startFerretDB(
  name = 'ferretdb',
  backend: FerretBackend = 'sqlite',
): Promise<MongoServer> {
  let postgres: PostgresServer | undefined;
  let dir: string;
  let storage: string[];
  if (backend === 'postgresql') {
    postgres = await startPostgres(`${name}-postgres`);
    dir = postgres.dataDir;
    storage = ['-postgresql-url', postgres.url];
  } else {
    dir = dataDir(name);
    storage = ['-sqlite-dir', dir];
  }
  const proc = new ManagedProcess({
    name,
    command: toolPath('ferretdb'),
    args: ['-listen', '127.0.0.1:0', ...storage, '-log-level', 'warn'],
    ...(backend === 'sqlite' ? { dataDir: dir } : {}),
  });
  const firstLine = proc.waitForLine(/^mongodb:\/\//);
  proc.start();
  const uri = (await firstLine).trim();
  await waitFor(
    `${name} at ${uri}`,
    async () => {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, directConnection: true });
      try {
        const reply = await client.db('admin').command({ ping: 1 });
        return reply.ok === 1;
      } finally {
        await client.close();
      }
    },
    { isAlive: () => proc.isAlive() },
  );
  return {
    uri,
    dataDir: dir,
    backend,
    process: proc,
    async stop() {
      await proc.stop();
      proc.removeData();
      await postgres?.stop();
    },
  };
}
