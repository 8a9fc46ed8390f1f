import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches, MaxLength } from 'class-validator';
import { IsPlainEmail } from '../../common/email.js';
import { AcceptablePassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../password-policy.js';

/** Django's username rule: letters, digits and @.+-_ ; NFKC-normalised as Django does. */
export const USERNAME_PATTERN = /^[\p{L}\p{N}@.+_-]+$/u;
export const nfkc = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFKC') : value);

export class RegisterDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 150,
    pattern: '^[\\p{L}\\p{N}@.+_-]+$',
    example: 'ada',
    description: 'Letters, digits and @.+-_ ; unique regardless of case.',
  })
  @Transform(nfkc)
  @IsString()
  @Length(3, 150)
  @Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits and @.+-_' })
  username: string;

  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@example.org' })
  @IsString()
  @MaxLength(254)
  @IsPlainEmail()
  email: string;

  @ApiProperty({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    example: 'correct horse battery staple',
    description: 'Not entirely numeric, not a common password, not too similar to the username or email.',
  })
  @AcceptablePassword(['username', 'email'])
  @IsString()
  password: string;
}
