import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the tail of every server log of the run when tests failed, so a red CI run shows what
 * FerretDB, Redis, etcd or kube-apiserver said without anyone logging into the machine.
 */
export default class ServerLogReporter implements Reporter {
  onTestRunEnd(
    _modules: ReadonlyArray<TestModule>,
    _errors: ReadonlyArray<unknown>,
    reason: 'passed' | 'interrupted' | 'failed',
  ): void {
    if (reason === 'passed') return;
    const dir = process.env.SCIMBRIDGE_TEST_RUN_DIR;
    if (!dir) return;
    let files: string[] = [];
    try {
      files = readdirSync(join(dir, 'logs'));
    } catch {
      return;
    }
    for (const file of files) {
      const text = readFileSync(join(dir, 'logs', file), 'utf8').trimEnd();
      if (!text) continue;
      const tail = text.split('\n').slice(-30).join('\n');
      process.stderr.write(
        `\n----- ${file} (last 30 lines; full log in ${join(dir, 'logs', file)}) -----\n${tail}\n`,
      );
    }
  }
}
