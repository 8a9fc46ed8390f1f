import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { HttpClient } from './http.js';
import { Doctor } from '../../src/doctors/doctor.entity.js';
import { Mapping } from '../../src/mappings/mapping.entity.js';
import { Patient } from '../../src/patients/patient.entity.js';
import { User } from '../../src/users/user.entity.js';
import { canonicalUsername } from '../../src/users/username.js';

/**
 * The shared test data, one builder per kind:
 * - build*(overrides): plain request bodies for the API;
 * - create*(http, ...): made over HTTP, as a client would;
 * - insert*(db, ...): rows straight into the database, for repository specs;
 * - *Entity(overrides): entity instances, for service specs that mock a repository.
 * Each takes defaults plus overrides; uniqueness comes from randomUUID().
 */

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

/** A users row as UsersRepository.insertUser takes it, unique values (the canonical form computed as the service does). */
export function buildUserRow(overrides: Partial<{ username: string; email: string }> = {}) {
  const tag = randomUUID().slice(0, 8);
  const username = overrides.username ?? `User_${tag}`;
  return {
    username,
    usernameCanonical: canonicalUsername(username),
    email: overrides.email ?? `user_${tag}@example.org`,
    passwordHash: `$argon2id$${tag}`,
    role: 'user' as const,
  };
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

/** Inserts a doctor straight into the database, with buildDoctor's defaults. */
export async function insertDoctor(db: DataSource, overrides: Record<string, unknown> = {}) {
  const d = buildDoctor(overrides);
  const [row] = (await db.query(
    `INSERT INTO doctors (name, specialization, email, phone, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id, name`,
    [d.name, d.specialization, d.email, d.phone, overrides.createdById ?? null],
  )) as Array<{ id: string; name: string }>;
  return row;
}

/** Inserts a mapping of a patient (of `ownerId`) to a doctor straight into the database (created now, or at `createdAt`). */
export async function insertMapping(db: DataSource, patient: { id: string; ownerId: string }, doctorId: string, createdAt?: Date) {
  const [row] = (await db.query(
    `INSERT INTO patient_doctor_mappings (patient_id, owner_id, doctor_id, created_at) VALUES ($1, $2, $3, COALESCE($4, now())) RETURNING id`,
    [patient.id, patient.ownerId, doctorId, createdAt ?? null],
  )) as Array<{ id: string }>;
  return row;
}

/** Fixed times, so a DTO built from an entity can be compared whole. */
export const CREATED_AT = new Date('2026-11-26T12:00:00.000Z');
export const UPDATED_AT = new Date('2026-11-26T12:00:01.000Z');

export function userEntity(overrides: Partial<User> = {}): User {
  return Object.assign(new User(), {
    id: randomUUID(),
    username: 'ada',
    email: 'ada@example.org',
    passwordHash: '$argon2id$stored',
    role: 'user',
    isActive: true,
    dateJoined: CREATED_AT,
    ...overrides,
  });
}

export function patientEntity(overrides: Partial<Patient> = {}): Patient {
  return Object.assign(new Patient(), {
    id: randomUUID(),
    ownerId: randomUUID(),
    name: 'Grace Hopper',
    age: 42,
    gender: 'female',
    address: '12 Harbour Road',
    version: 1,
    deletedAt: null,
    deletedById: null,
    createdAt: CREATED_AT,
    updatedAt: UPDATED_AT,
    ...overrides,
  });
}

export function doctorEntity(overrides: Partial<Doctor> = {}): Doctor {
  return Object.assign(new Doctor(), {
    id: randomUUID(),
    name: 'Dr. Ada',
    specialization: 'Cardiology',
    email: 'ada@clinic.example',
    phone: '5551234567',
    createdById: null,
    version: 1,
    deletedAt: null,
    deletedById: null,
    createdAt: CREATED_AT,
    updatedAt: UPDATED_AT,
    ...overrides,
  });
}

/** A mapping with its doctor loaded (the doctor given in overrides, or a fresh one). */
export function mappingEntity(overrides: Partial<Mapping> = {}): Mapping {
  const doctor = overrides.doctor ?? doctorEntity();
  return Object.assign(new Mapping(), {
    id: randomUUID(),
    patientId: randomUUID(),
    ownerId: randomUUID(),
    doctorId: doctor.id,
    doctor,
    createdAt: new Date('2026-11-27T08:30:00.000Z'),
    ...overrides,
  });
}
