// Public API of @scimbridge/scimctl, for tests and embedding; the binary is dist/main.js.
export { buildProgram, runCli } from './cli.js';
export type { CliIo } from './io.js';
export { readTenantFile, type TenantFile } from './tenant-file.js';
