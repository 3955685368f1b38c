import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: the URL FerretDB's PostgreSQL backend takes. */
  url: string;
  port: number;
  dataDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The directory of Debian's PostgreSQL server binaries (`postgresql-<major>`, installed by scripts/bootstrap.sh):
 * the newest `/usr/lib/postgresql/<major>/bin`. Fails loudly when there is none.
 */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server in ${root}: run scripts/bootstrap.sh`);
  return join(root, majors[0]!, 'bin');
}

/**
 * PostgreSQL refuses to run as root, so as root (this machine, CI) the server runs as Debian's `postgres` user
 * through `setpriv`, which execs it directly: the managed process is the server itself and gets its signals.
 */
function asServerUser(command: string, args: string[]): { command: string; args: string[] } {
  if (userInfo().uid !== 0) return { command, args };
  return {
    command: 'setpriv',
    args: ['--reuid', 'postgres', '--regid', 'postgres', '--init-groups', '--', command, ...args],
  };
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

/**
 * The GIN twins of FerretDB's indexes (scripts/postgres/ferretdb-gin.sql: an event trigger, so every index FerretDB
 * creates later gets one), installed in the `postgres` database FerretDB uses. Shared with scripts/dev.sh.
 */
export const FERRETDB_GIN_SQL = fileURLToPath(
  new URL('../../../scripts/postgres/ferretdb-gin.sql', import.meta.url),
);

/**
 * A throwaway PostgreSQL cluster (trust authentication, loopback only, fsync off: test and demo data) on a free
 * port, for FerretDB's PostgreSQL backend, with FerretDB's GIN twins installed (FERRETDB_GIN_SQL). Ready when
 * `pg_isready` says the server accepts connections.
 */
export async function startPostgres(name = 'postgres'): Promise<PostgresServer> {
  const bin = postgresBinDir();
  // Outside the run directory: that one is private to the test user (0700), and the server runs as `postgres`.
  const dir = mkdtempSync(join(tmpdir(), `scimbridge-${name}-`));
  if (userInfo().uid === 0)
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  const data = join(dir, 'data');
  const initdb = asServerUser(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initdb.command, initdb.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  const server = asServerUser(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const proc = new ManagedProcess({ name, command: server.command, args: server.args });
  proc.start();
  await waitFor(
    `${name} on port ${port}`,
    async () => {
      if (!(await tcpOpen(port))) return false;
      try {
        execFileSync(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
        return true;
      } catch {
        return false;
      }
    },
    { isAlive: () => proc.isAlive() },
  );
  execFileSync(
    join(bin, 'psql'),
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'postgres',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      FERRETDB_GIN_SQL,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: dir,
    process: proc,
    async stop() {
      await proc.stop();
      if (!process.env.SCIMBRIDGE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
}
