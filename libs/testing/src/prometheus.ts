import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, dataDir } from './process.js';
import { freePort } from './ports.js';
import { toolPath } from './tools.js';
import { waitFor } from './wait.js';

export interface PrometheusServer {
  url: string;
  process: ManagedProcess;
  /** Instant PromQL query; returns the `data.result` array. */
  query(promql: string): Promise<PromSample[]>;
  /** The scrape targets and their health as Prometheus reports them. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}

/** Prometheus (Debian package) scraping `targets` (host:port) every second; optional rule files to evaluate. */
export async function startPrometheus(options: {
  targets: string[];
  ruleFiles?: string[];
  name?: string;
}): Promise<PrometheusServer> {
  const name = options.name ?? 'prometheus';
  const dir = dataDir(name);
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    ...(options.ruleFiles?.length
      ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)]
      : []),
    'scrape_configs:',
    '  - job_name: scimbridge',
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
  ].join('\n');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const proc = new ManagedProcess({
    name,
    command: toolPath('prometheus'),
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dataDir: dir,
  });
  proc.start();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} at ${url}`, async () => (await fetch(`${url}/-/ready`)).ok, {
    isAlive: () => proc.isAlive(),
  });

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as PromResponse<T>;
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  return {
    url,
    process: proc,
    async query(promql) {
      const data = await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data.result;
    },
    async targets() {
      const data = await api<{ activeTargets: { scrapeUrl: string; health: string; lastError: string }[] }>(
        '/api/v1/targets',
      );
      return data.activeTargets;
    },
    async stop() {
      await proc.stop();
      proc.removeData();
    },
  };
}
