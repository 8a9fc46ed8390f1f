import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { type AppConfig, validate } from './config/app-config.js';
import { readEnvironment } from './config/dotenv.js';
import { AUDIT_USAGE, isAuditCommand, runAuditCommand } from './audit/audit-cli.js';
import { DB_ROLES_USAGE, dbRolesCommand } from './database/db-roles.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-superuser --username U --email E
      Creates an admin. The password comes from SUPERUSER_PASSWORD or a hidden prompt.
  purge-deleted
      Removes for good the patients and doctors deleted more than DELETED_RETENTION_DAYS (default 30) ago, with
      their history and doctor assignments; each removal is an audit event. The server also does this hourly.
${AUDIT_USAGE}${DB_ROLES_USAGE}`;

/** "1 patient", "2 patients". */
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!process.stdin.isTTY) {
      reject(new Error('No terminal to ask for the password: set SUPERUSER_PASSWORD'));
      return;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    out._writeToOutput = (s: string) => {
      // Echo only the prompt and the final newline, never the typed characters.
      if (s.startsWith(question) || s === '\r\n' || s === '\n') out.output.write(s);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}

/**
 * Boots the app's modules without HTTP, runs `work`, closes. A tool: it fails
 * at once if the database is down, and long maintenance statements have no deadline.
 */
async function withApp<T>(config: AppConfig, work: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, { use: 'tool' }), {
    logger: false,
    abortOnError: false,
  });
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = () => validate(readEnvironment());
  if (isAuditCommand(command)) {
    const settings = config();
    return withApp(settings, (app) => runAuditCommand(app, settings, command, rest));
  }
  if (command === 'db-roles' && rest.length === 0) return dbRolesCommand(config().database);
  if (command === 'purge-deleted' && rest.length === 0) {
    const settings = config();
    const { DeletedRecordsService } = await import('./deleted/deleted-records.service.js');
    return withApp(settings, async (app) => {
      const { patients, doctors, busy } = await app.get(DeletedRecordsService).purgeExpired();
      const days = settings.records.deletedRetentionDays;
      process.stdout.write(
        busy && patients + doctors === 0
          ? 'Another instance is purging deleted records right now; nothing done.\n'
          : `Purged ${count(patients, 'patient')} and ${count(doctors, 'doctor')} deleted more than ${days} days ago; each purge is recorded in the audit trail.\n`,
      );
      return 0;
    });
  }
  if (command !== 'create-superuser') {
    process.stderr.write(USAGE);
    return command === undefined || command === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { username: { type: 'string' }, email: { type: 'string' } },
    strict: true,
  });
  if (!values.username || !values.email) {
    process.stderr.write(USAGE);
    return 2;
  }
  const settings = config();
  let password = settings.auth.superuserPassword;
  if (!password) {
    password = await promptHidden('Password: ');
    const again = await promptHidden('Password (again): ');
    if (password !== again) throw new Error("The passwords don't match");
  }

  const { createSuperuser } = await import('./auth/superuser.js');
  const { username, email } = values;
  return withApp(settings, async (app) => {
    const user = await createSuperuser(app, { username, email, password });
    process.stdout.write(`Superuser ${user.username} created (id ${user.id}).\n`);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
