import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { HttpClient } from './http.js';
import { canonicalUsername } from '../../src/users/username.js';

export const PASSWORD = 'Quiet-Harbour-Lantern-42';

export interface TestUser {
  id: string;
  username: string;
  email: string;
  access: string;
  refresh: string;
}

export function buildUser(overrides: Partial<{ username: string; email: string; password: string }> = {}) {
  const tag = randomUUID().slice(0, 8);
  return { username: `user_${tag}`, email: `user_${tag}@example.org`, password: PASSWORD, ...overrides };
}

/** Registers and logs in a fresh user over HTTP. */
export async function createUser(http: HttpClient, overrides: Parameters<typeof buildUser>[0] = {}): Promise<TestUser> {
  const input = buildUser(overrides);
  const reg = await http.post('/api/auth/register/', input);
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  const login = await http.post('/api/auth/login/', { username: input.username, password: input.password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { id: reg.body.id, username: input.username, email: input.email, ...login.body };
}

export function buildPatient(overrides: Record<string, unknown> = {}) {
  return { name: `Patient ${randomUUID().slice(0, 6)}`, age: 42, gender: 'female', address: '1 Harbour Road', ...overrides };
}

export async function createPatient(http: HttpClient, token: string, overrides: Record<string, unknown> = {}) {
  const res = await http.post('/api/patients/', buildPatient(overrides), { token });
  if (res.status !== 201) throw new Error(`create patient failed: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string; age: number; gender: string; address: string };
}

export function buildDoctor(overrides: Record<string, unknown> = {}) {
  const tag = randomUUID().slice(0, 8);
  return {
    name: `Dr. ${tag}`,
    specialization: 'Cardiology',
    email: `dr_${tag}@clinic.example`,
    phone: '5551234567',
    ...overrides,
  };
}

export async function createDoctor(http: HttpClient, token: string, overrides: Record<string, unknown> = {}) {
  const res = await http.post('/api/doctors/', buildDoctor(overrides), { token });
  if (res.status !== 201) throw new Error(`create doctor failed: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string; specialization: string; email: string; phone: string };
}

/** Registers a user, makes them an admin in the database, then logs in (so the session sees the role). */
export async function createAdmin(t: { http: HttpClient; dataSource: DataSource }): Promise<TestUser> {
  const input = buildUser();
  const reg = await t.http.post('/api/auth/register/', input);
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  await t.dataSource.query("UPDATE users SET role = 'admin' WHERE id = $1", [reg.body.id]);
  const login = await t.http.post('/api/auth/login/', { username: input.username, password: input.password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { id: reg.body.id, username: input.username, email: input.email, ...login.body };
}

/** Inserts a user straight into the database (no password anyone can use), for repository specs. */
export async function insertUser(db: DataSource, overrides: Partial<{ username: string; email: string; role: string }> = {}) {
  const { username, email } = buildUser(overrides);
  const name = overrides.username ?? username;
  const [row] = (await db.query(
    `INSERT INTO users (username, username_canonical, email, password_hash, role) VALUES ($1, $2, $3, 'unusable', $4) RETURNING id, username`,
    [name, canonicalUsername(name), overrides.email ?? email, overrides.role ?? 'user'],
  )) as Array<{ id: string; username: string }>;
  return row;
}

/** Inserts a patient of `ownerId` straight into the database, with buildPatient's defaults. */
export async function insertPatient(db: DataSource, ownerId: string, overrides: Record<string, unknown> = {}) {
  const p = buildPatient(overrides);
  const [row] = (await db.query(
    `INSERT INTO patients (owner_id, name, age, gender, address) VALUES ($1, $2, $3, $4, $5) RETURNING id, name`,
    [ownerId, p.name, p.age, p.gender, p.address],
  )) as Array<{ id: string; name: string }>;
  return row;
}
