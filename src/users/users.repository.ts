import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
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

/**
 * Every query on `users`. `find*` only read; `insert*`/`update*` write, in
 * the caller's transaction when given its manager.
 */
@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

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

  async updatePasswordHash(id: string, passwordHash: string, manager: EntityManager = this.users.manager): Promise<void> {
    await manager.update(User, { id }, { passwordHash });
  }
}
