import { randomUUID } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, inject } from 'vitest';
import { runCli } from '../src/index.js';

export interface ScimctlRun {
  code: number;
  out: string[];
  err: string[];
  json: () => Record<string, unknown>[];
}

/**
 * A database of its own for the calling test file (on the global setup's real MongoDB-wire server) and a way to run
 * the real CLI in-process against it and the real Redis, as an operator would.
 */
export function useScimctl() {
  const state = {} as { connection: Connection; uri: string };
  beforeAll(async () => {
    const url = new URL(inject('mongodbUri'));
    url.pathname = `/scimctl_${randomUUID().slice(0, 8)}`;
    state.uri = url.toString();
    state.connection = await mongoose.createConnection(state.uri).asPromise();
  });
  afterAll(async () => {
    await state.connection.dropDatabase();
    await state.connection.close();
  });

  async function scimctlWith(env: Record<string, string>, ...args: string[]): Promise<ScimctlRun> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: { MONGODB_URI: state.uri, REDIS_URL: inject('redisUrl'), ...env },
    });
    return { code, out, err, json: () => out.map((line) => JSON.parse(line) as Record<string, unknown>) };
  }

  return {
    get connection() {
      return state.connection;
    },
    get uri() {
      return state.uri;
    },
    scimctl: (...args: string[]) => scimctlWith({}, ...args),
    scimctlWith,
  };
}
