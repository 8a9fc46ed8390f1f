import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class RefreshDto {
  @ApiProperty({
    description: 'A refresh token from login or a previous refresh.',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI…',
  })
  @IsString()
  // No @IsJWT: a string that is not a token does not verify, which the contract answers with 401 (as the seed did).
  @MaxLength(4096)
  refresh: string;
}
