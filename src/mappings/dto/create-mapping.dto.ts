import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class CreateMappingDto {
  @ApiProperty({ format: 'uuid', description: "Id of one of the caller's patients." })
  @IsUUID('all', { message: 'patient must be a UUID' })
  patient: string;

  @ApiProperty({ format: 'uuid', description: 'Id of a doctor.' })
  @IsUUID('all', { message: 'doctor must be a UUID' })
  doctor: string;
}
