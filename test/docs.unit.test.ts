import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('documentation', () => {
  it('docs/CLI.md matches the CLI help (run node scripts/write-cli-docs.mjs after changing flags)', async () => {
    const { cliDocs } = await import(join(__dirname, '..', 'scripts', 'write-cli-docs.mjs'));
    expect(readFileSync(join(__dirname, '..', 'docs', 'CLI.md'), 'utf8')).toBe(cliDocs());
  });
  it('the README shows the two fresh-machine commands', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain('bash scripts/setup.sh && npm run demo');
    expect(readme).toContain('bash scripts/setup.sh && npm run test:all');
  });
});
