import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class ConfirmMfaDto {
  @ApiProperty({ description: 'The 6-digit code the authenticator app shows now.', pattern: '^\\d{6}$', example: '492039' })
  @Matches(/^\d{6}$/, { message: 'code must be the 6 digits the authenticator app shows' })
  @IsString()
  code: string;
}
