// Public API of @scimbridge/scimctl, for tests and embedding; the binary is dist/main.js.
export { buildProgram, runCli, type CliIo } from './cli.js';
export { readTenantFile, type TenantFile } from './tenant-file.js';
