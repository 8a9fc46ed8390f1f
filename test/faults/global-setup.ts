import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What `npm run build:api` compiles (tsconfig.build.json), specs excluded. */
const SOURCES = ['src', 'migrations', 'scripts', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json'];
const SERVER = 'dist/src/main.js';

function newestSource(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.spec\.ts$/.test(path) ? 0 : stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newestSource(join(path, entry))));
}

/** The suite runs the built server: build it when it is missing or older than any of its sources. */
export default function globalSetup(): void {
  const built = existsSync(SERVER) ? statSync(SERVER).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map(newestSource));
  if (built >= newest) return;
  process.stdout.write(`\n[faults] ${built ? `${SERVER} is older than its sources` : `${SERVER} is missing`}: npm run build:api\n`);
  execFileSync('npm', ['run', 'build:api', '--silent'], { stdio: 'inherit' });
}
