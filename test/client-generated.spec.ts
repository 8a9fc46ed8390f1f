import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const COMMITTED = 'client/src/schema.ts';

/**
 * The arguments of `npm run client:generate` with its output sent to `output`,
 * so this test generates exactly what the script would (same input, same flags).
 */
function generateArgs(output: string): string[] {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [command, ...args] = scripts['client:generate'].split(/\s+/);
  const at = args.findIndex((a) => a === '-o' || a === '--output');
  if (command !== 'openapi-typescript' || at < 0 || args[at + 1] !== COMMITTED) {
    throw new Error(`client:generate is no longer \`openapi-typescript … -o ${COMMITTED}\`: update this test`);
  }
  args[at + 1] = output;
  return args;
}

/** Where two texts first differ, for a failure message a person can act on. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line < 0 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end>')}, generated ${JSON.stringify(b[at] ?? '<end>')}`;
}

describe('Generated client', () => {
  let dir: string;
  let generated: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'client-schema-'));
    const output = join(dir, 'schema.ts');
    // A child process: openapi-typescript's dependencies do not load inside jest's ESM sandbox on Node 20.
    execFileSync(process.execPath, [resolve('node_modules/openapi-typescript/bin/cli.js'), ...generateArgs(output)], {
      stdio: 'pipe',
    });
    generated = readFileSync(output, 'utf8');
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generation produced the API paths', () => {
    expect(generated).toContain('export interface paths {');
    expect(generated).toContain('"/api/patients/{id}": {');
  });

  it(`the committed ${COMMITTED} matches openapi.json byte for byte`, () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    const verdict =
      committed === generated
        ? 'up to date'
        : `stale: run \`npm run client:generate\` and commit ${COMMITTED} ` +
          `(first difference at ${firstDifference(committed, generated)})`;
    expect(verdict).toBe('up to date');
  });
});
