import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The environment an entry point validates: `./.env` (when there is one)
 * under the process's own variables, which win. Nothing is written to
 * process.env.
 */
export function readEnvironment(
  path = '.env',
  processEnv: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  const file = existsSync(path) ? parseEnv(readFileSync(path, 'utf8')) : {};
  return { ...file, ...processEnv };
}
