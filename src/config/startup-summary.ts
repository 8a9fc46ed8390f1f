import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type AppConfig, type DatabaseConfig, databaseKind } from './app-config.js';

/** Which database the app uses, in words, without its password. */
export function describeDatabase(db: DatabaseConfig): string {
  if (databaseKind(db) === 'pglite') {
    if (db.pgliteDataDir.startsWith('memory://')) return 'embedded PGlite, in memory (gone when the process exits)';
    return `embedded PGlite, data in ${resolve(db.pgliteDataDir)}`;
  }
  if (db.url) {
    try {
      const url = new URL(db.url);
      const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)';
      const user = url.username ? ` as ${decodeURIComponent(url.username)}` : '';
      return `PostgreSQL ${name} on ${url.hostname}:${url.port || 5432}${user}`;
    } catch {
      return 'PostgreSQL (DATABASE_URL)';
    }
  }
  return `PostgreSQL ${db.name} on ${db.host}:${db.port}${db.user ? ` as ${db.user}` : ''}`;
}

/** The directory beside PGLITE_DATA_DIR holds the embedded database and the development keys of the secrets not set. */
function dataDirectory(config: AppConfig): string {
  const dataDir = config.database.pgliteDataDir;
  if (dataDir.startsWith('memory://')) return 'Data directory: none (nothing is kept on disk)';
  const kept = [
    ...(databaseKind(config.database) === 'pglite' ? ['the embedded database'] : []),
    ...(config.auth.jwtSecret ? [] : ['the development JWT key']),
    ...(config.auth.mfaEncryptionKey ? [] : ['the development MFA key']),
    ...(config.audit.chainKey ? [] : ['the development audit chain key']),
  ];
  if (kept.length === 0) return 'Data directory: none (nothing is kept on disk)';
  return `Data directory: ${resolve(dirname(dataDir))} (${kept.join(', ')})`;
}

/**
 * What a person starting the server needs first: where the API, its docs and
 * the staff console are, which database and data directory are in use, and
 * how to create the first admin. One line each.
 */
export function startupSummary(config: AppConfig): string[] {
  const { host, port, adminConsoleDir } = config.http;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${shown}:${port}`;
  const consoleBuilt = existsSync(join(resolve(adminConsoleDir), 'index.html'));
  const embedded = databaseKind(config.database) === 'pglite';
  const onDisk = embedded && !config.database.pgliteDataDir.startsWith('memory://');
  return [
    `Healthcare API listening on ${base} (routes under ${base}/api/)`,
    `API docs: ${base}/docs (OpenAPI document: ${base}/docs-json)`,
    consoleBuilt ? `Staff console: ${base}/admin` : `Staff console: not built (run \`npm run build\`), then ${base}/admin`,
    `Database: ${describeDatabase(config.database)}` +
      (config.database.replicaUrls.length > 0 ? `, reads may go to ${config.database.replicaUrls.length} replica(s) (state in /health/ready)` : ''),
    dataDirectory(config),
    'Create an admin: npm run cli -- create-superuser --username admin --email admin@example.org' +
      (onDisk ? ' (stop this server first: the embedded database allows one process at a time)' : ''),
  ];
}
