import { ConfigError } from '@scimbridge/config';

/**
 * Runs a service's start function; a configuration problem or a start-up failure is printed as one
 * JSON line and exits non-zero (78 = EX_CONFIG for configuration), so Kubernetes shows it in the pod log.
 */
export function runMain(service: string, start: () => Promise<void>): void {
  start().catch((error: unknown) => {
    const isConfig = error instanceof ConfigError;
    const line = {
      level: 'fatal',
      time: new Date().toISOString(),
      service,
      msg: isConfig ? 'invalid configuration' : 'failed to start',
      ...(isConfig
        ? { problems: error.problems }
        : { err: { message: (error as Error).message, stack: (error as Error).stack } }),
    };
    process.stderr.write(`${JSON.stringify(line)}\n`);
    process.exit(isConfig ? 78 : 1);
  });
}
