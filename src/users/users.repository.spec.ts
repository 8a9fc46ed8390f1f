import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource, QueryFailedError } from 'typeorm';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { buildDataSourceOptions } from '../database/data-source-options.js';
import { createTestDatabase, type TestDatabase } from '../../test/utils/database.js';
import { User } from './user.entity.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { UsersRepository } from './users.repository.js';
import { validate } from '../config/app-config.js';
import { buildUserRow } from '../../test/utils/factories.js';

const row = buildUserRow;

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
    users = new UsersRepository(dataSource.getRepository(User), dataSource, new PreparedSql(dataSource));
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

  describe('listPage', () => {
    const codec = new CursorCodec(randomBytes(32));
    const caller = { id: randomUUID(), role: 'admin' };
    const page = (ordering: string) =>
      pageRequest({ page_size: 100 }, parseOrdering(ordering, users.sortFields, 'username'), codec, 'users', caller);
    const tag = randomUUID().slice(0, 6);
    const names = (list: Array<{ username: string }>) => list.map((u) => u.username);

    beforeAll(async () => {
      await users.insertUser(row({ username: `qx${tag}_ann`, email: `ann_${tag}@north.example` }));
      await users.insertUser(row({ username: `qx${tag}_bob`, email: `bob_${tag}@south.example` }));
      await users.insertUser({ ...row({ username: `zz${tag}_root` }), role: 'admin' });
      await dataSource.query(`UPDATE users SET is_active = false WHERE username = $1`, [`qx${tag}_bob`]);
    });

    it('derives its sort fields from the entity metadata', () => {
      expect(users.sortFields).toEqual({
        username: { column: 'username', property: 'username', kind: 'string' },
        date_joined: { column: 'date_joined', property: 'dateJoined', kind: 'date' },
      });
    });

    it('searches username or e-mail as a substring from 3 letters or digits, as a prefix below', async () => {
      expect(names(await users.listPage({ search: `${tag}_ann` }, page('username')))).toEqual([`qx${tag}_ann`]);
      expect(names(await users.listPage({ search: `south.example` }, page('username')))).toEqual(
        expect.arrayContaining([`qx${tag}_bob`]),
      );
      // "ro" is a prefix: it does not match "zz…_root" in its middle.
      expect(names(await users.listPage({ search: 'ro' }, page('username')))).not.toContain(`zz${tag}_root`);
      // Wildcards match literally.
      expect(await users.listPage({ search: `qx${tag}%` }, page('username'))).toEqual([]);
    });

    it('filters by role and by is_active, in the ordering asked for, never with the hash', async () => {
      const admins = await users.listPage({ search: `zz${tag}`, role: 'admin' }, page('username'));
      expect(names(admins)).toEqual([`zz${tag}_root`]);
      expect(admins[0]).toBeInstanceOf(User);
      expect(admins[0].passwordHash).toBeUndefined();
      expect(names(await users.listPage({ search: `qx${tag}`, isActive: false }, page('username')))).toEqual([`qx${tag}_bob`]);
      expect(names(await users.listPage({ search: `qx${tag}` }, page('-username')))).toEqual([`qx${tag}_bob`, `qx${tag}_ann`]);
    });

    it('locks and reads the active admins and one account inside a transaction, and changes role and activity', async () => {
      const { id } = await users.insertUser(row());
      await dataSource.transaction(async (m) => {
        const admins = await users.findActiveAdminIdsForUpdate(m);
        expect(admins).not.toContain(id);
        expect(admins).toEqual([...admins].sort());
        expect(await users.findByIdForUpdate(id, m)).toMatchObject({ id, role: 'user', isActive: true });
        expect(await users.findByIdForUpdate(randomUUID(), m)).toBeNull();
        await users.updateStatus(id, { role: 'admin', isActive: true }, m);
        expect(await users.findActiveAdminIdsForUpdate(m)).toContain(id);
        await users.updateStatus(id, { role: 'admin', isActive: false }, m);
        expect(await users.findActiveAdminIdsForUpdate(m)).not.toContain(id);
      });
      expect(await users.findById(id)).toMatchObject({ role: 'admin', isActive: false });
    });
  });
});
