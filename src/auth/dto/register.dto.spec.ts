import { describe, expect, it } from '@jest/globals';
import type { ArgumentMetadata } from '@nestjs/common';
import { ValidationFailedException } from '../../common/problem.js';
import { createValidationPipe } from '../../common/validation.js';
import { ChangePasswordDto } from './change-password.dto.js';
import { RegisterDto } from './register.dto.js';

const pipe = createValidationPipe();
const asBody = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });

/** The errors the global pipe reports for a body, or {} when it passes. */
async function errorsOf(body: unknown, metatype: ArgumentMetadata['metatype']): Promise<Record<string, string[]>> {
  try {
    await pipe.transform(body, asBody(metatype));
    return {};
  } catch (error) {
    if (error instanceof ValidationFailedException) return error.errors;
    throw error;
  }
}

describe('password rules in the request DTOs', () => {
  const valid = { username: 'adalovelace', email: 'ada@example.org', password: 'Quiet-Harbour-Lantern-42' };

  it('a good password passes', async () => {
    expect(await errorsOf(valid, RegisterDto)).toEqual({});
  });

  it.each([
    ['too short', 'Ab3$efg', /at least 8 characters/],
    ['entirely numeric', '8675309123', /entirely numeric/],
    ['common', 'password123', /too common/],
    ['too similar to the username', 'adalovelace_ada', /too similar to the username/],
    ['too similar to the email', 'ada@example.org!', /too similar to the email/],
    ['over 128 characters (never truncated)', `${'Qh7!'.repeat(32)}x`, /at most 128 characters/],
  ])('a password that is %s is refused, naming the rule', async (_label, password, rule) => {
    const errors = await errorsOf({ ...valid, password }, RegisterDto);
    expect(Object.keys(errors)).toEqual(['password']);
    expect(errors.password.join(' ')).toMatch(rule);
  });

  it('a weak password is reported with every other bad field, in one answer', async () => {
    const errors = await errorsOf({ ...valid, username: 'a', password: 'password123', extra: 1 }, RegisterDto);
    expect(Object.keys(errors).sort()).toEqual(['extra', 'password', 'username']);
  });

  it('the new password of a password change follows the same rules', async () => {
    expect(Object.keys(await errorsOf({ old_password: 'x', new_password: '12345678' }, ChangePasswordDto))).toEqual([
      'new_password',
    ]);
    expect(await errorsOf({ old_password: 'x', new_password: 'Quiet-Harbour-Lantern-42' }, ChangePasswordDto)).toEqual({});
  });
});
