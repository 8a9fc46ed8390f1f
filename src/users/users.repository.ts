import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { searchPattern } from '../common/search.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { type ListQuery, TableQueries } from '../database/table-queries.js';
import { USER_SORTS } from './dto/list-users.dto.js';
import { type Role, User } from './user.entity.js';

/** The columns a user row is returned with: never the password hash. */
const RETURNED: Array<keyof User> = ['id', 'username', 'usernameCanonical', 'email', 'role', 'isActive', 'dateJoined'];

export interface UserRow {
  username: string;
  usernameCanonical: string;
  email: string;
  passwordHash: string;
  role: Role;
}

/** What the staff console's account list is narrowed to; every field optional. */
export interface UserFilter {
  /** Username or e-mail, by the search rules of src/common/search.ts. */
  search?: string;
  role?: Role;
  isActive?: boolean;
}

export type UserStatus = Pick<User, 'isActive' | 'role'>;

/**
 * Every query on `users`. `find*`/`list*` only read; `insert*`/`update*`
 * write, in the caller's transaction when given its manager. `*ForUpdate`
 * reads lock the rows they return until the caller's transaction ends.
 */
@Injectable()
export class UsersRepository {
  private readonly table: TableQueries<User>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() dataSource: DataSource,
    sql: PreparedSql,
  ) {
    this.table = new TableQueries(dataSource, sql, User);
  }

  /** Derived on first use, from metadata that exists once the database is connected (see EntityRows). */
  get sortFields(): Record<string, SortField> {
    return this.table.rows.sortFields(USER_SORTS);
  }

  /** Throws the database's unique violation (23505) for a taken username or email: the caller maps it. */
  async insertUser(row: UserRow, manager: EntityManager = this.users.manager): Promise<User> {
    const result = await manager.getRepository(User).createQueryBuilder().insert().values(row).returning(RETURNED).execute();
    return this.users.create(result.generatedMaps[0] as User);
  }

  /** The account a canonical username names, with its password hash. */
  findWithHashByCanonical(usernameCanonical: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.usernameCanonical = :usernameCanonical', { usernameCanonical })
      .getOne();
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  findWithHashById(id: string): Promise<User | null> {
    return this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :id', { id }).getOne();
  }

  /** One keyset page of accounts (up to pageSize + 1 rows, in SQL order: see pageOf); never a password hash. */
  async listPage(filter: UserFilter, page: PageRequest): Promise<User[]> {
    const rows = await this.table.listPageRows(this.list, filter, page, filter.search !== undefined);
    return rows.map((row) => this.table.rows.fromRow(row));
  }

  private readonly list: ListQuery<User, UserFilter> = {
    name: 'users',
    alias: 'u',
    select: (qb) => qb.select(this.table.rows.selectList('u')),
    conditions: {
      search: { where: '(u.username ILIKE :search OR u.email ILIKE :search)', value: searchPattern },
      role: 'u.role = :role',
      isActive: 'u.is_active = :isActive',
    },
  };

  /**
   * The ids of the active admins, locked (SELECT ... FOR UPDATE, in id order
   * so two callers lock alike) until the caller's transaction ends.
   */
  async findActiveAdminIdsForUpdate(manager: EntityManager): Promise<string[]> {
    const rows: Array<{ id: string }> = await manager.query(`SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`);
    return rows.map((r) => r.id);
  }

  /** The account, locked until the caller's transaction ends; null when there is none. */
  findByIdForUpdate(id: string, manager: EntityManager): Promise<User | null> {
    return manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async updateStatus(id: string, status: UserStatus, manager: EntityManager): Promise<void> {
    await manager.update(User, { id }, status);
  }

  async updatePasswordHash(id: string, passwordHash: string, manager: EntityManager = this.users.manager): Promise<void> {
    await manager.update(User, { id }, { passwordHash });
  }
}
