import { ApiProperty } from '@nestjs/swagger';
import { IsJWT, IsString, MaxLength } from 'class-validator';

export class RefreshDto {
  @ApiProperty({ description: 'A refresh token from login or a previous refresh.' })
  @IsString()
  @MaxLength(4096)
  @IsJWT({ message: 'refresh must be a JWT' })
  refresh: string;
}
