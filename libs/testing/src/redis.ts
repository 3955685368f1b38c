import { createConnection } from 'node:net';
import { ManagedProcess, dataDir } from './process.js';
import { freePort } from './ports.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface RedisServer {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
  /** Starts the server again on the same port after a stop (outage tests). */
  restart(): Promise<void>;
}

/** Sends PING over a raw socket; true on +PONG. */
export function redisPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** redis-server (Debian package) without persistence, on a free loopback port. */
export async function startRedis(name = 'redis'): Promise<RedisServer> {
  const dir = dataDir(name);
  const port = await freePort();
  const make = () =>
    new ManagedProcess({
      name,
      command: toolPath('redis-server'),
      args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
      dataDir: dir,
    });
  let proc = make();
  const boot = async () => {
    proc.start();
    await waitFor(`${name} on port ${port}`, () => redisPing(port), { isAlive: () => proc.isAlive() });
  };
  await boot();
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get process() {
      return proc;
    },
    async stop() {
      await proc.stop();
    },
    async restart() {
      await proc.stop();
      proc = make();
      await boot();
    },
  };
  return server;
}
