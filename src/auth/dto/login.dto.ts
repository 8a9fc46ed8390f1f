import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { RECOVERY_CODE_MAX_INPUT } from '../mfa/recovery-codes.js';
import { nfkc } from './register.dto.js';

export class LoginDto {
  @ApiProperty({ example: 'ada', description: 'Matched regardless of case.' })
  // Registration stores the NFKC form, so login must look up the same form (as Django's login form does).
  @Transform(nfkc)
  @IsString()
  @MaxLength(150)
  username: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @MaxLength(1024)
  password: string;

  @ApiPropertyOptional({
    description:
      'Accounts with a second factor: the 6-digit TOTP code, or an unused recovery code. Missing or wrong, ' +
      'the login fails like a wrong password (the same 401). Ignored for accounts without one.',
    maxLength: RECOVERY_CODE_MAX_INPUT,
    example: '492039',
  })
  @IsOptional()
  @IsString()
  @MaxLength(RECOVERY_CODE_MAX_INPUT)
  otp?: string;
}
