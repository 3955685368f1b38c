/** Where a scimctl run reads its environment and writes its output; `runCli` takes it, so tests run in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Ends a `--follow` at its next poll (tests; the process itself ends on Ctrl-C). */
  signal?: AbortSignal;
}

/** The options every command takes (before the command name). */
export interface GlobalOptions {
  json?: boolean;
  mongodbUri?: string;
  redisUrl?: string;
}
