import { ApiProperty, OmitType } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { CreatePatientDto } from './create-patient.dto.js';

/** PUT: the whole resource, every writable field required. */
export class ReplacePatientDto extends OmitType(CreatePatientDto, ['address'] as const) {
  @ApiProperty({ maxLength: 500, example: '12 Harbour Road, Arlington' })
  @IsString()
  @MaxLength(500)
  address: string;
}
