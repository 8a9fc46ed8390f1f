import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource, QueryFailedError } from 'typeorm';
import { buildDataSourceOptions } from '../database/data-source-options.js';
import { createTestDatabase, type TestDatabase } from '../../test/utils/database.js';
import { User } from './user.entity.js';
import { canonicalUsername } from './username.js';
import { UsersRepository } from './users.repository.js';
import { validate } from '../config/app-config.js';

/** A user row with unique values (the canonical form computed as the service does). */
function row(overrides: Partial<{ username: string; email: string }> = {}) {
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

// On the real database: PGlite in memory, or a clone of the migrated template with TEST_DATABASE_URL.
describe(UsersRepository.name, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let users: UsersRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource(
      buildDataSourceOptions(validate({ DB_POOL_SIZE: '2', PGLITE_DATA_DIR: 'memory://', ...db.env }).database),
    );
    await dataSource.initialize();
    if (db.kind === 'pglite') await dataSource.runMigrations();
    users = new UsersRepository(dataSource.getRepository(User));
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('insertUser returns the row as stored, never its password hash', async () => {
    const input = row({ username: 'Ｇｒａｃｅ_x' });
    const user = await users.insertUser(input);
    expect(user).toBeInstanceOf(User);
    expect(user).toMatchObject({ username: input.username, usernameCanonical: input.usernameCanonical, role: 'user', isActive: true });
    expect(user.dateJoined).toBeInstanceOf(Date);
    expect(user.passwordHash).toBeUndefined();
  });

  it('findWithHashByCanonical finds the account, with its hash, by the canonical form only', async () => {
    const input = row();
    const { id } = await users.insertUser(input);
    await expect(users.findWithHashByCanonical(input.usernameCanonical)).resolves.toMatchObject({
      id,
      passwordHash: input.passwordHash,
    });
    // The database does not fold case itself: that is the canonical form's job.
    await expect(users.findWithHashByCanonical(input.username.toUpperCase())).resolves.toBeNull();
  });

  it('a second row with the same canonical username is refused by users_username_canonical_key (23505)', async () => {
    const first = row({ username: `tim_${randomUUID().slice(0, 6)}` });
    await users.insertUser(first);
    const error = await users.insertUser(row({ username: first.username.replace('i', 'İ') })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError).driverError).toMatchObject({ code: '23505', constraint: 'users_username_canonical_key' });
  });

  it('findById without the hash, findWithHashById with it, updatePasswordHash changes only the hash', async () => {
    const input = row();
    const { id } = await users.insertUser(input);
    const plain = await users.findById(id);
    expect(plain).toMatchObject({ id, username: input.username });
    expect(plain?.passwordHash).toBeUndefined();
    await users.updatePasswordHash(id, '$argon2id$new');
    await expect(users.findWithHashById(id)).resolves.toMatchObject({ id, username: input.username, passwordHash: '$argon2id$new' });
    await expect(users.findById(randomUUID())).resolves.toBeNull();
  });
});
