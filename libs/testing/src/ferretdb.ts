import { MongoClient } from 'mongodb';
import { ManagedProcess, dataDir } from './process.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface MongoServer {
  /** mongodb:// URI without a database name. */
  uri: string;
  /** FerretDB's SQLite directory (one `<database>.sqlite` file per database). */
  dataDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * FerretDB v1 (SQLite backend) in a fresh data directory on a free port: the project's MongoDB-wire server.
 * Ready when a real `ping` command round-trips, not merely when the port accepts connections.
 */
export async function startFerretDB(name = 'ferretdb'): Promise<MongoServer> {
  const dir = dataDir(name);
  const proc = new ManagedProcess({
    name,
    command: toolPath('ferretdb'),
    args: ['-listen', '127.0.0.1:0', '-sqlite-dir', dir, '-log-level', 'warn'],
    dataDir: dir,
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
    process: proc,
    async stop() {
      await proc.stop();
      proc.removeData();
    },
  };
}
