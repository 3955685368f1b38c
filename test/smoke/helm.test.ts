import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { toolPath } from '@scimbridge/testing';
import { describe, expect, it } from 'vitest';

const chart = fileURLToPath(new URL('../../charts/scimbridge', import.meta.url));
// The chart needs MongoDB and Redis connection Secrets; the full suite is test/e2e/platform-chart.test.ts.
const connections = ['--set', 'mongodb.existingSecret=db', '--set', 'redis.existingSecret=db'];

describe('helm (built from helm.sh/helm/v3)', () => {
  const helm = toolPath('helm');

  it('reports the version it was built as', () => {
    expect(execFileSync(helm, ['version', '--short'], { encoding: 'utf8' })).toMatch(/^v3\.\d+\.\d+/);
  });

  it('lints and renders the chart', () => {
    expect(
      execFileSync(helm, ['lint', chart, '--kube-version', '1.36.0', ...connections], { encoding: 'utf8' }),
    ).toMatch(/0 chart\(s\) failed/);
    const rendered = execFileSync(
      helm,
      ['template', 'smoke', chart, '--kube-version', '1.36.0', ...connections],
      {
        encoding: 'utf8',
      },
    );
    expect(rendered).toMatch(/kind: Deployment/);
    expect(rendered).toMatch(/app.kubernetes.io\/component: api/);
  });
});
