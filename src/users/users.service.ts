import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { constraintOf, sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import { type MeDto, toMe } from './dto/user-response.dto.js';
import type { Role, User } from './user.entity.js';
import { canonicalUsername } from './username.js';
import { UsersRepository } from './users.repository.js';

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
  role?: Role;
}

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /**
   * Inserts a user; the unique indexes on the canonical username and on
   * lower(email) decide duplicates (no racy pre-check) -> 409.
   */
  async create(input: NewUser, manager?: EntityManager): Promise<User> {
    try {
      return await this.users.insertUser(
        {
          // Stored as sent (strings come back byte for byte); uniqueness compares the canonical form.
          username: input.username,
          usernameCanonical: canonicalUsername(input.username),
          email: input.email,
          passwordHash: input.passwordHash,
          role: input.role ?? 'user',
        },
        manager,
      );
    } catch (error) {
      throw uniqueViolationToConflict(error);
    }
  }

  /** For login: the account whatever case or Unicode form the username was typed in, with its hash. */
  findForLogin(username: string): Promise<User | null> {
    return this.users.findWithHashByCanonical(canonicalUsername(username));
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /** The caller, as GET /api/auth/me/ shows them. */
  async me(userId: string): Promise<MeDto> {
    const user = await this.findById(userId);
    if (!user) throw new UnauthorizedException('The session has ended; log in again.');
    return toMe(user);
  }

  findByIdWithHash(id: string): Promise<User | null> {
    return this.users.findWithHashById(id);
  }

  /** `manager`: the transaction to run in, if any. */
  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.users.updatePasswordHash(id, passwordHash, manager);
  }
}

function uniqueViolationToConflict(error: unknown): unknown {
  if (sqlState(error) === UNIQUE_VIOLATION) {
    const field = constraintOf(error).includes('email') ? 'email' : 'username';
    return new ConflictException(`A user with that ${field} already exists.`);
  }
  return error;
}
