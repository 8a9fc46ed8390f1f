import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv } from './config/dotenv.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-superuser --username U --email E
      Creates an admin. The password comes from SUPERUSER_PASSWORD or a hidden prompt.
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
  loadDotEnv();
  let password = process.env.SUPERUSER_PASSWORD;
  if (!password) {
    password = await promptHidden('Password: ');
    const again = await promptHidden('Password (again): ');
    if (password !== again) throw new Error("The passwords don't match");
  }

  const { AppModule } = await import('./app.module.js');
  const { createSuperuser } = await import('./users/superuser.js');
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  try {
    const user = await createSuperuser(app, { username: values.username, email: values.email, password });
    process.stdout.write(`Superuser ${user.username} created (id ${user.id}).\n`);
    return 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
