import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { RECOVERY_CODE_MAX_INPUT } from '../recovery-codes.js';

export class DisableMfaDto {
  @ApiProperty({ description: "The account's password.", example: 'correct horse battery staple' })
  @MaxLength(1024)
  @IsNotEmpty()
  @IsString()
  password: string;

  @ApiProperty({ description: 'A code from the authenticator app, or an unused recovery code.', maxLength: RECOVERY_CODE_MAX_INPUT, example: '492039' })
  @MaxLength(RECOVERY_CODE_MAX_INPUT)
  @IsNotEmpty()
  @IsString()
  code: string;
}
