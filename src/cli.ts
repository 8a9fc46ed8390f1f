import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { type AppConfig, validate } from './config/app-config.js';
import { readEnvironment } from './config/dotenv.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-superuser --username U --email E
      Creates an admin. The password comes from SUPERUSER_PASSWORD or a hidden prompt.
  audit-verify
      Recomputes the audit trail's hash chain; exits 1 and names the first broken link if it does not hold.
  audit-prune
      Removes audit events older than AUDIT_RETENTION_DAYS (default 2190: six years), keeping the chain verifiable.
`;

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

async function auditCommand(config: AppConfig, command: 'audit-verify' | 'audit-prune'): Promise<number> {
  const { AuditService } = await import('./audit/audit.service.js');
  return withApp(config, async (app) => {
    const audit = app.get(AuditService);
    if (command === 'audit-verify') {
      // Events written in the last moments are queued; chain them first so everything is checked.
      await audit.sealAll();
      const result = await audit.verify();
      if (result.ok) {
        const range = result.first ? ` (links ${result.first}..${result.last})` : '';
        const pending = result.pending ? `; ${result.pending} written since, not sealed yet` : '';
        process.stdout.write(`Audit trail intact: ${result.checked} events checked${range}${pending}.\n`);
        return 0;
      }
      process.stdout.write(
        `Audit trail BROKEN at link ${result.broken?.position}: ${result.broken?.problem} (${result.checked} links before it hold).\n`,
      );
      return 1;
    }
    const days = config.audit.retentionDays;
    const { removed, throughPosition } = await audit.prune(days);
    process.stdout.write(
      removed > 0
        ? `Removed ${removed} audit events older than ${days} days (chain links through ${throughPosition}); the prune itself is recorded.\n`
        : `No audit event is older than ${days} days; the check itself is recorded.\n`,
    );
    return 0;
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = () => validate(readEnvironment());
  if ((command === 'audit-verify' || command === 'audit-prune') && rest.length === 0) return auditCommand(config(), command);
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
