import { execFileSync } from 'node:child_process';
import { toolPath } from '@scimbridge/testing';
import { describe, expect, it } from 'vitest';

describe('scim2-tester (PyPI, through scim2-cli)', () => {
  it('runs its compliance command', () => {
    const help = execFileSync(toolPath('scim'), ['test', '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/SCIM compliance check using "scim2-tester"/);
  });
});
