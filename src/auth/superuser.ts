import type { INestApplicationContext } from '@nestjs/common';
import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { RegisterDto } from './dto/register.dto.js';
import { PasswordHasher } from './password-hasher.js';
import { flattenValidationErrors } from '../common/validation.js';
import { UsersService } from '../users/users.service.js';

export interface SuperuserInput {
  username: string;
  email: string;
  password: string;
}

/**
 * Creates an admin, as Django's createsuperuser does: the same username,
 * email and password rules as registration, then role "admin".
 * Throws an Error with a readable message when the input is refused.
 */
export async function createSuperuser(app: INestApplicationContext, input: SuperuserInput) {
  const dto = plainToInstance(RegisterDto, input);
  const problems = flattenValidationErrors(await validate(dto));
  const messages = Object.values(problems).flat();
  if (messages.length) throw new Error(messages.join('; '));

  const hasher = app.get(PasswordHasher);
  const users = app.get(UsersService);
  const audit = app.get(AuditService);
  const passwordHash = await hasher.hash(input.password, 'cli:create-superuser');
  try {
    // The account and its audit event in one transaction (the CLI has no request: no actor, IP or request id).
    return await app.get(DataSource).transaction(async (manager) => {
      const user = await users.create({ username: dto.username, email: dto.email, passwordHash, role: 'admin' }, manager);
      await audit.record(
        { action: 'create', resourceType: 'user', resourceId: user.id, status: 201, reason: 'cli:create-superuser' },
        manager,
      );
      return user;
    });
  } catch (error) {
    throw new Error(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
