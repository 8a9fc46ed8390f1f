import { ApiProperty } from '@nestjs/swagger';
import { ApiVersionProperty } from '../../common/versioned.js';
import { GENDERS, type Gender, type Patient } from '../patient.entity.js';

export class PatientDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Grace Hopper' })
  name: string;

  @ApiProperty({ type: 'integer', example: 42 })
  age: number;

  @ApiProperty({ enum: GENDERS, example: 'female' })
  gender: Gender;

  @ApiProperty({ example: '12 Harbour Road, Arlington' })
  address: string;

  @ApiVersionProperty()
  version: number;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  updated_at: string;
}

/** A patient as the staff console lists it: with whose it is. */
export class AdminPatientDto extends PatientDto {
  @ApiProperty({ format: 'uuid', description: 'Id of the user who owns the patient.' })
  owner: string;

  @ApiProperty({ example: 'ada' })
  owner_username: string;
}

export function toPatientDto(p: Patient): PatientDto {
  return {
    id: p.id,
    name: p.name,
    age: p.age,
    gender: p.gender,
    address: p.address,
    version: p.version,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

export function toAdminPatientDto(p: Patient): AdminPatientDto {
  if (!p.owner) throw new Error('patient loaded without its owner');
  return { ...toPatientDto(p), owner: p.ownerId, owner_username: p.owner.username };
}
