import { ApiProperty } from '@nestjs/swagger';
import { ApiVersionProperty } from '../../common/versioned.js';
import type { Doctor } from '../doctor.entity.js';

export class DoctorDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Dr. Ada Byron' })
  name: string;

  @ApiProperty({ example: 'Cardiology' })
  specialization: string;

  @ApiProperty({ format: 'email', example: 'ada.byron@clinic.example' })
  email: string;

  @ApiProperty({ example: '5551234567' })
  phone: string;

  @ApiVersionProperty()
  version: number;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  updated_at: string;
}

export function toDoctorDto(d: Doctor): DoctorDto {
  return {
    id: d.id,
    name: d.name,
    specialization: d.specialization,
    email: d.email,
    phone: d.phone,
    version: d.version,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}
