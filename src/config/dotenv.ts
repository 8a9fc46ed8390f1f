import { existsSync } from 'node:fs';

/**
 * Loads ./.env into process.env (variables already set win), for the entry
 * points that run outside Nest's ConfigModule: the CLI and ormconfig.ts.
 */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
