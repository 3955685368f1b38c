import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

interface Failure {
  where: string;
  message: string;
}

/** First line of each error, so a summary names the assertion without its whole diff. */
function firstLines(errors: ReadonlyArray<{ message?: string; name?: string }>): string {
  return errors
    .map((error) => `${error.name ?? 'Error'}: ${(error.message ?? '').split('\n')[0]}`.slice(0, 300))
    .join(' | ');
}

/** Every failed test, and every module or suite that failed outside a test (a hook, an import). */
export function failuresOf(modules: ReadonlyArray<TestModule>): Failure[] {
  const failures: Failure[] = [];
  for (const module of modules) {
    if (module.errors().length > 0) {
      failures.push({ where: module.relativeModuleId, message: firstLines(module.errors()) });
    }
    for (const suite of module.children.allSuites()) {
      if (suite.errors().length > 0) {
        failures.push({
          where: `${module.relativeModuleId} > ${suite.fullName}`,
          message: firstLines(suite.errors()),
        });
      }
    }
    for (const test of module.children.allTests('failed')) {
      failures.push({
        where: `${module.relativeModuleId} > ${test.fullName}`,
        message: firstLines(test.result().errors ?? []),
      });
    }
  }
  return failures;
}

/**
 * When tests failed: prints the tail of every server log of the run, so a red CI run shows what FerretDB, Redis,
 * etcd or kube-apiserver said without anyone logging into the machine, and then, last, a list of what failed
 * (also written to <run dir>/failures.txt) — CI keeps only the end of the output, and the log tails would
 * otherwise push vitest's own summary out of it.
 */
export default class ServerLogReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    errors: ReadonlyArray<unknown>,
    reason: 'passed' | 'interrupted' | 'failed',
  ): void {
    if (reason === 'passed') return;
    const dir = process.env.SCIMBRIDGE_TEST_RUN_DIR;
    if (dir) {
      let files: string[] = [];
      try {
        files = readdirSync(join(dir, 'logs'));
      } catch {
        files = [];
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
    const failures = failuresOf(modules);
    for (const error of errors) {
      const e = error as { message?: string; name?: string };
      failures.push({ where: 'unhandled error', message: firstLines([e]) });
    }
    const lines = [
      `===== ${reason}: ${failures.length} failure(s) =====`,
      ...failures.map((failure) => `FAILED ${failure.where}\n       ${failure.message}`),
    ];
    const summary = `${lines.join('\n')}\n`;
    if (dir) {
      try {
        writeFileSync(join(dir, 'failures.txt'), summary);
      } catch {
        // the summary still goes to stderr
      }
    }
    process.stderr.write(`\n${summary}`);
  }
}
