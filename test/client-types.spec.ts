import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const FIXTURE = resolve('test/fixtures/client-type-errors.ts');
const DIRECTIVE = /^\s*\/\/ @ts-expect-error (TS\d+) \S/;

interface Diagnostic {
  file: string;
  line: number;
  code: string;
}

/** The fixture with its relative imports made absolute, so a copy compiles from anywhere. */
function portable(source: string): string {
  return source.replace(/from '(\.{1,2}\/[^']+)'/g, (_, spec: string) => `from '${resolve(dirname(FIXTURE), spec)}'`);
}

/**
 * The generated client must turn mistakes in calling code into type errors.
 * The fixture marks each wrong call with `// @ts-expect-error TSxxxx reason`;
 * here the directives are deleted and the compiler must report exactly those
 * lines, with those codes. The fixture as written must compile cleanly (so
 * every right call beside a wrong one compiles).
 */
describe('Client type safety', () => {
  let dir: string;
  let expected: string[];
  let diagnostics: Diagnostic[];

  beforeAll(() => {
    const source = readFileSync(FIXTURE, 'utf8');
    const lines = source.split('\n');
    // Reported on the line after the directive (1-based: index + 2).
    expected = lines.flatMap((line, i) => {
      const match = DIRECTIVE.exec(line);
      return match ? [`${i + 2} ${match[1]}`] : [];
    });
    const stripped = lines.map((line) => (DIRECTIVE.test(line) ? '' : line)).join('\n');

    dir = mkdtempSync(join(tmpdir(), 'client-types-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'as-written.ts'), portable(source));
    writeFileSync(join(dir, 'stripped.ts'), portable(stripped));
    // What a consumer of the client compiles with (client/tsconfig.json), not the server's settings.
    const tsconfig = {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        types: [],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
      files: ['as-written.ts', 'stripped.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));

    // A child process: the compiler is not something to load into jest's module sandbox.
    const compiler = resolve('node_modules/typescript/bin/tsc');
    const tsc = spawnSync(process.execPath, [compiler, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    if (tsc.error) throw tsc.error;
    diagnostics = [...tsc.stdout.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+):/gm)].map((m) => ({
      file: m[1].split(/[\\/]/).pop() as string,
      line: Number(m[2]),
      code: m[3],
    }));
    if (diagnostics.length === 0 && tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the fixture names the mistakes it checks', () => {
    expect(expected.length).toBeGreaterThanOrEqual(15);
  });

  it('compiles as written: every wrong call is expected, every right call compiles', () => {
    expect(diagnostics.filter((d) => d.file === 'as-written.ts')).toEqual([]);
  });

  it('reports each wrong call, on its line, with the expected error, and nothing else', () => {
    const reported = diagnostics.filter((d) => d.file === 'stripped.ts').map((d) => `${d.line} ${d.code}`);
    expect(reported).toEqual(expected);
  });
});
