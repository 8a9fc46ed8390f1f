// Preload for the API (`node --import ./bench/tools/log-sql.mjs dist/src/main.js`):
// appends every SQL text pg is asked to run, with whether it was a named
// (prepared) statement, to $SQL_LOG. Used to copy the API's exact SQL into the
// baseline and to count the statements a request sends. Never in a measured run.
import { appendFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.SQL_LOG ?? '/tmp/hc-sql.log';
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, ...rest) {
  const text = typeof config === 'string' ? config : config?.text;
  const name = typeof config === 'object' && config?.name ? ` [named ${config.name}]` : '';
  if (text) appendFileSync(file, `${text.replace(/\s+/g, ' ').trim()}${name}\n`);
  return original.call(this, config, ...rest);
};
