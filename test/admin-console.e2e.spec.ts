import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TokenSession } from '../client/src/index.js';
import { createTestDatabase, type TestDatabase } from './utils/database.js';
import { PASSWORD } from './utils/factories.js';
import { ensureTestBuild } from './utils/test-build.js';

/**
 * The staff console (admin/, served by the API at /admin) in a real browser
 * against the real server: built as `npm run build` builds it, but into
 * dist-test/ (dist/ is the operator's), started as `node dist-test/src/main.js`
 * after `create-superuser`, as an operator would run them.
 */

const ROOT = join(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`The server exited (${server.exitCode}):\n${log()}`);
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The server did not start:\n${log()}`);
}

describe('staff console (browser e2e)', () => {
  const admin = { username: `boss_${randomUUID().slice(0, 8)}`, email: '', password: PASSWORD };
  admin.email = `${admin.username}@example.org`;
  let db: TestDatabase;
  let dataDir: string | undefined;
  let profileDir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  /** The API's origin, which also serves the console at /admin. */
  let base: string;
  let consoleUrl: string;
  let browser: BrowserContext;
  let page: Page;
  /** Content-Security-Policy violations and uncaught errors seen by any page. */
  const problems: string[] = [];

  beforeAll(async () => {
    const build = ensureTestBuild('all');
    mkdirSync(ARTIFACTS, { recursive: true });

    db = await createTestDatabase();
    const env: NodeJS.ProcessEnv = { ...process.env, ...db.env };
    // The CLI and the server are separate processes: on PGlite they share a data directory (one at a time).
    if (db.kind === 'pglite') env.PGLITE_DATA_DIR = dataDir = mkdtempSync(join(tmpdir(), 'hc-console-db-'));
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    Object.assign(env, {
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      // These tests sign in with a password alone; the second-factor test below starts a server of its own
      // at production's default (ADMIN_MFA_REQUIRED=true).
      ADMIN_MFA_REQUIRED: 'false',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      ADMIN_CONSOLE_DIR: join(build, 'admin'),
    });

    execFileSync(
      process.execPath,
      [join(build, 'src/cli.js'), 'create-superuser', '--username', admin.username, '--email', admin.email],
      { cwd: ROOT, env: { ...env, SUPERUSER_PASSWORD: admin.password }, stdio: 'pipe' },
    );

    base = `http://127.0.0.1:${env.PORT}`;
    server = spawn(process.execPath, [join(build, 'src/main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    await waitUntilReady(base, server, () => serverLog);
    consoleUrl = `${base}/admin/`;

    profileDir = mkdtempSync(join(tmpdir(), 'hc-console-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: DESKTOP,
    });
    browser.setDefaultTimeout(15_000);
    browser.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) problems.push(message.text());
    });
    browser.on('weberror', (error) => problems.push(error.error().message));
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
    for (const dir of [dataDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = (route: string) => page.goto(`${consoleUrl}#/${route}`);
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `admin-${name}.png`), fullPage: true });

  async function signIn(p: Page, username: string, password: string): Promise<void> {
    await p.goto(consoleUrl);
    await p.locator('input[name=username]').fill(username);
    await p.locator('input[name=password]').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Picks `text` in a react-admin AutocompleteInput (it searches the API as one types). */
  async function choose(label: string, text: string): Promise<void> {
    await page.getByRole('combobox', { name: label }).fill(text);
    await page.getByRole('option', { name: text }).click();
  }

  it('an admin manages doctors, patients and assignments, with the API validation shown on the fields', async () => {
    const tag = randomUUID().slice(0, 8);
    const doctorName = `Dr. Console ${tag}`;
    const patientName = `Patient Console ${tag}`;

    await signIn(page, admin.username, admin.password);
    await page.getByRole('menuitem', { name: 'Patients' }).waitFor();

    await open('doctors/create');
    await page.locator('input[name=name]').fill(doctorName);
    await page.locator('input[name=specialization]').fill('Cardiology');
    await page.locator('input[name=email]').fill(`dr_${tag}@clinic.example`);
    await page.locator('input[name=phone]').fill('5551234567');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/doctors\/[0-9a-f-]{36}\/show$/);

    await open('patients/create');
    await page.getByText('The new patient is owned by your account.').waitFor();
    await page.locator('input[name=name]').fill(patientName);
    await page.locator('input[name=age]').fill('42');
    await page.getByRole('combobox', { name: 'Gender' }).click();
    await page.getByRole('option', { name: 'female' }).click();
    await page.locator('textarea[name=address]').fill('12 Harbour Road');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/patients\/[0-9a-f-]{36}\/show$/);
    const patientId = /patients\/([0-9a-f-]{36})\/show/.exec(page.url())![1];

    // Assign the doctor: both pickers search the API.
    await open('mappings/create');
    await choose('Patient', patientName);
    await choose('Doctor', doctorName);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/mappings$/);
    const assignment = page.getByRole('row').filter({ hasText: patientName });
    await assignment.filter({ hasText: doctorName }).waitFor();

    // The patients list shows the owner.
    await open('patients');
    await page.getByRole('row').filter({ hasText: patientName }).filter({ hasText: admin.username }).waitFor();

    // An age the API refuses: its message appears on the age field, and nothing is saved.
    await open(`patients/${patientId}`);
    const age = page.locator('input[name=age]');
    await age.fill('200');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('input[name=age][aria-invalid=true]').waitFor();
    const helper = page.locator(`#${await age.getAttribute('aria-describedby')}`);
    expect(await helper.textContent()).toMatch(/150/);
    await shot('patient-edit-validation-1280x800');
    await age.fill('43');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(new RegExp(`#/patients/${patientId}/show$`));
    await page.getByText('43', { exact: true }).waitFor();

    // Each list at desktop size, then the phone layout (a simple list instead of a table).
    for (const resource of ['patients', 'doctors', 'mappings', 'users']) {
      await open(resource);
      await page.locator('table tbody tr').first().waitFor();
      await shot(`${resource}-list-1280x800`);
    }
    await page.setViewportSize(PHONE);
    for (const resource of ['patients', 'mappings']) {
      await open(resource);
      await page.getByText(patientName).first().waitFor();
      expect(await page.locator('table').count()).toBe(0);
      await shot(`${resource}-list-390x844`);
    }
    await page.setViewportSize(DESKTOP);

    // Unassign, after confirming.
    await open('mappings');
    await assignment.getByRole('button', { name: 'Unassign' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Unassign this doctor?').waitFor();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await assignment.waitFor({ state: 'detached' });

    // The audit trail, read-only: the unassignment just made is among its newest events (the list
    // the console reloaded after it came next).
    await open('audit-events');
    // Waits (polling) for the row: the first render can come before the list's fetch is answered.
    await page.locator('table tbody tr', { hasText: /delete\s*mapping.*204/ }).first().waitFor({ timeout: 15_000 });
    expect(await page.getByRole('link', { name: 'Create' }).count()).toBe(0);
    await shot('audit-events-list-1280x800');

    expect(problems).toEqual([]);
  }, 180_000);

  it('lists page with the API cursors, filter and sort through its query parameters', async () => {
    const api = new TokenSession({ baseUrl: base });
    expect((await api.login(admin.username, admin.password)).ok).toBe(true);
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < 12; i++) {
      const { response } = await api.client.POST('/api/doctors', {
        body: {
          name: `Paging ${tag} ${String(i).padStart(2, '0')}`,
          specialization: 'Paging',
          email: `paging_${tag}_${i}@clinic.example`,
          phone: '5551234567',
        },
      });
      expect(response.status).toBe(201);
    }

    await signIn(page, admin.username, admin.password);
    await page.getByRole('menuitem', { name: 'Doctors' }).waitFor();
    const lists: URL[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/doctors?')) lists.push(new URL(request.url()));
    });
    await open('doctors');
    await page.locator('input[name=search]').fill(tag);
    const rows = page.locator('table tbody tr');
    await rows.filter({ hasText: `Paging ${tag} 00` }).waitFor();
    await rows.filter({ hasText: `Paging ${tag} 09` }).waitFor();
    expect(await rows.count()).toBe(10);
    const searched = lists.at(-1)!;
    expect(searched.searchParams.get('search')).toBe(tag);
    expect(searched.searchParams.get('ordering')).toBe('name');

    await page.getByRole('button', { name: 'Go to next page' }).click();
    await rows.filter({ hasText: `Paging ${tag} 11` }).waitFor();
    expect(await rows.count()).toBe(2);
    expect(lists.at(-1)!.searchParams.get('cursor')).toBeTruthy();
    expect(await page.getByRole('button', { name: 'Go to next page' }).isDisabled()).toBe(true);

    // Sorting by name the other way starts again from the first page.
    await page.getByRole('button', { name: 'Go to previous page' }).click();
    await rows.filter({ hasText: `Paging ${tag} 00` }).waitFor();
    await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
    await rows.first().filter({ hasText: `Paging ${tag} 11` }).waitFor();
    expect(lists.at(-1)!.searchParams.get('ordering')).toBe('-name');

    // Patients filtered by owner, picked among the users.
    const { data: me } = await api.client.GET('/api/auth/me');
    await open('patients');
    const byOwner = page.waitForRequest((r) => new URL(r.url()).searchParams.get('owner') === me!.id);
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByRole('menuitemcheckbox', { name: 'Owner' }).click();
    await choose('Owner', admin.username);
    expect(new URL((await byOwner).url()).pathname).toBe('/api/admin/patients');
    await api.logout();
  }, 120_000);

  it("users: the API's refusal to demote the last active admin is shown", async () => {
    const api = new TokenSession({ baseUrl: base });
    expect((await api.login(admin.username, admin.password)).ok).toBe(true);
    const { data: me } = await api.client.GET('/api/auth/me');
    await api.logout();

    await signIn(page, admin.username, admin.password);
    await page.getByRole('menuitem', { name: 'Users' }).waitFor();
    await open(`users/${me!.id}`);
    await page.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'user' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/last active admin/).waitFor();
    expect(page.url()).toMatch(new RegExp(`#/users/${me!.id}$`));
  }, 60_000);

  it('a user who is not an admin is told the console is for administrators only', async () => {
    const api = new TokenSession({ baseUrl: base });
    const user = { username: `staff_${randomUUID().slice(0, 8)}`, password: PASSWORD };
    const registered = await api.client.POST('/api/auth/register', {
      body: { ...user, email: `${user.username}@example.org` },
    });
    expect(registered.response.status).toBe(201);

    const other = await browser.newPage();
    await signIn(other, user.username, user.password);
    const message = other.getByTestId('login-error');
    await message.waitFor();
    expect(await message.textContent()).toBe('This console is for administrators only.');
    expect(other.url()).toMatch(/#\/login$/);
    await other.screenshot({ path: join(ARTIFACTS, 'admin-non-admin-login-1280x800.png') });
    await other.close();
    expect(problems).toEqual([]);
  }, 60_000);
});
