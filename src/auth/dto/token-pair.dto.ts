import { ApiProperty } from '@nestjs/swagger';

export class TokenPairDto {
  @ApiProperty({ description: 'Refresh token (valid 30 minutes unused, within a 12-hour session). Rotates on use.' })
  refresh: string;

  @ApiProperty({ description: 'Access token for `Authorization: Bearer` (15 minutes).' })
  access: string;
}
