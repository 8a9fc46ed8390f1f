import { ApiProperty } from '@nestjs/swagger';
import { GENDERS, type Gender, type Patient } from '../patient.entity.js';

export class PatientDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Grace Hopper' })
  name: string;

  @ApiProperty({ example: 42 })
  age: number;

  @ApiProperty({ enum: GENDERS, example: 'female' })
  gender: Gender;

  @ApiProperty({ example: '12 Harbour Road, Arlington' })
  address: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  updated_at: string;
}

export function toPatientDto(p: Patient): PatientDto {
  return {
    id: p.id,
    name: p.name,
    age: p.age,
    gender: p.gender,
    address: p.address,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}
