import { DataSource } from 'typeorm';
import { validateEnv } from './src/config/env.validation.js';
import { buildDataSourceOptions } from './src/database/data-source-options.js';
import { loadDotEnv } from './src/config/dotenv.js';

loadDotEnv();

/**
 * The DataSource for the TypeORM CLI (npm run migration:*), built by the same
 * function as the app's, so both always talk to the same database.
 */
export default new DataSource(buildDataSourceOptions(validateEnv(process.env), 'tool'));
