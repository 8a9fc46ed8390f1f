import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, MaxLength } from 'class-validator';
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
}
