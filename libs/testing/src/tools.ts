import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The tool cache written by scripts/bootstrap.sh (kept in step with scripts/lib/common.sh). */
export function toolCacheDir(): string {
  const env = process.env;
  return env.SCIMBRIDGE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'scimbridge');
}

/**
 * Absolute path of a tool: the bootstrap cache first, then PATH. Fails loudly, never skips:
 * a test that needs a real server must not pass without one.
 */
export function toolPath(name: string): string {
  const dirs = [
    join(toolCacheDir(), 'bin'),
    join(toolCacheDir(), 'venv', 'bin'),
    ...(process.env.PATH ?? '').split(delimiter),
  ];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  throw new Error(`${name} not found in ${join(toolCacheDir(), 'bin')} or on PATH: run scripts/bootstrap.sh`);
}
