import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';

const run = promisify(execFile);
const README = 'client/README.md';

/** The code block that follows `<!-- consumer: name -->` in the client's README. */
function block(readme: string, name: string): string {
  const marker = `<!-- consumer: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`${README} has no ${marker}`);
  const fenced = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at + marker.length));
  if (!fenced) throw new Error(`${README}: no code block after ${marker}`);
  return fenced[1];
}

/**
 * The client README's "Install it in another project" steps, run as written
 * in a fresh folder: pack the client, `npm init -y`, install the tarball and
 * the registry's current TypeScript and @types/node, write the README's
 * tsconfig.json and example, compile, and run the example against a running
 * API. Two things are substituted, and only these: the tarball's folder (a
 * temporary one instead of /tmp) and the example's base URL (this test's
 * server instead of http://localhost:3000). npm may reach the registry for
 * openapi-fetch, typescript and @types/node; it prefers its cache.
 */
describe('Client README: a fresh consumer project built from its steps', () => {
  let t: TestApp;
  let dir: string;
  let readme: string;
  const npmEnv = {
    ...process.env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
  };

  const bash = (script: string, cwd: string) =>
    run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: npmEnv, encoding: 'utf8', maxBuffer: 16 << 20 });

  beforeAll(async () => {
    readme = readFileSync(README, 'utf8');
    t = await createTestApp();
    dir = mkdtempSync(join(tmpdir(), 'client-consumer-'));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compiles with the README tsconfig and prints what the README shows', async () => {
    const tarballs = join(dir, 'tarballs');
    mkdirSync(tarballs);
    const inTarballs = (script: string) => script.replaceAll('/tmp', tarballs);

    // 1. In this repository: pack the client.
    await bash(inTarballs(block(readme, 'pack')), process.cwd());

    // 2. The project, from an empty folder; the last line reports where it ended up.
    const work = join(dir, 'work');
    mkdirSync(work);
    const setup = await bash(`${inTarballs(block(readme, 'setup'))}\npwd`, work);
    const project = setup.stdout.trim().split('\n').pop() as string;
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(pkg.type).toBe('module');
    expect(Object.keys(pkg.dependencies)).toEqual(['@healthcare-api/client']);
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@types/node', 'typescript']);

    // 3 and 4. The README's tsconfig.json and example, as written.
    writeFileSync(join(project, 'tsconfig.json'), block(readme, 'tsconfig.json'));
    const example = block(readme, 'src/index.ts');
    expect(example).toContain("baseUrl: 'http://localhost:3000'");
    writeFileSync(join(project, 'src', 'index.ts'), example.replace("'http://localhost:3000'", `'${t.baseUrl}'`));

    // The user the README says is registered.
    const registered = await t.http.post('/api/auth/register/', {
      username: 'ada',
      email: 'ada@example.org',
      password: 'correct horse battery staple',
    });
    expect(registered.status).toBe(201);

    // Async: the server answering the example lives in this process.
    const { stdout } = await bash(block(readme, 'run'), project);

    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
    const expected = block(readme, 'output').trimEnd().split('\n');
    const printed = stdout.trimEnd().split('\n');
    expect(printed).toHaveLength(expected.length);
    printed.forEach((line, i) => {
      const pattern = expected[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(new RegExp(uuid, 'g'), uuid);
      expect(line).toMatch(new RegExp(`^${pattern}$`));
    });
  }, 300_000);
});
