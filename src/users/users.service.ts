import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { constraintOf, sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import { type MeDto, toMe } from './dto/user-response.dto.js';
import { type Role, User } from './user.entity.js';

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
  role?: Role;
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /**
   * Inserts a user; the unique indexes on lower(username) and lower(email)
   * decide duplicates (no racy pre-check) -> 409.
   */
  async create(input: NewUser, manager: EntityManager = this.users.manager): Promise<User> {
    try {
      const result = await manager
        .getRepository(User)
        .createQueryBuilder()
        .insert()
        .values({
          username: input.username,
          // Stored as sent (strings come back byte for byte); uniqueness ignores case.
          email: input.email,
          passwordHash: input.passwordHash,
          role: input.role ?? 'user',
        })
        .returning(['id', 'username', 'email', 'role', 'isActive', 'dateJoined'])
        .execute();
      return this.users.create(result.generatedMaps[0] as User);
    } catch (error) {
      throw uniqueViolationToConflict(error);
    }
  }

  /** For login: matches the username regardless of case, and loads the hash. */
  findForLogin(username: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.username) = lower(:username)', { username })
      .getOne();
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  /** The caller, as GET /api/auth/me/ shows them. */
  async me(userId: string): Promise<MeDto> {
    const user = await this.findById(userId);
    if (!user) throw new UnauthorizedException('The session has ended; log in again.');
    return toMe(user);
  }

  findByIdWithHash(id: string): Promise<User | null> {
    return this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :id', { id }).getOne();
  }

  /** `manager`: the transaction to run in, if any. */
  async setPasswordHash(id: string, passwordHash: string, manager: EntityManager = this.users.manager): Promise<void> {
    await manager.update(User, { id }, { passwordHash });
  }
}

function uniqueViolationToConflict(error: unknown): unknown {
  if (sqlState(error) === UNIQUE_VIOLATION) {
    const field = constraintOf(error).includes('email') ? 'email' : 'username';
    return new ConflictException(`A user with that ${field} already exists.`);
  }
  return error;
}
