import { DataSource } from 'typeorm';
import { validate } from './src/config/app-config.js';
import { readEnvironment } from './src/config/dotenv.js';
import { buildDataSourceOptions } from './src/database/data-source-options.js';

/**
 * The DataSource for the TypeORM CLI (npm run migration:*), built by the same
 * function as the app's, so both always talk to the same database. A tool:
 * no deadline on long statements. (The TypeORM CLI imports this file: the
 * environment is read and validated here, once.)
 */
const { database } = validate(readEnvironment());
// With separate roles, migrations run as the owner role (DATABASE_MIGRATION_URL; see npm run cli -- db-roles).
export default new DataSource(buildDataSourceOptions({ ...database, url: database.migrationUrl ?? database.url }, 'tool'));
