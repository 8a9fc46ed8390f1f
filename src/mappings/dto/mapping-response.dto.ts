import { ApiProperty } from '@nestjs/swagger';
import { DoctorDto, toDoctorDto } from '../../doctors/dto/doctor-response.dto.js';
import type { Mapping } from '../mapping.entity.js';

export class MappingDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid', description: 'Patient id.' })
  patient: string;

  @ApiProperty({ format: 'uuid', description: 'Doctor id.' })
  doctor: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  created_at: string;
}

/** A doctor assigned to a patient, with the mapping that assigns it (to unassign). */
export class AssignedDoctorDto extends DoctorDto {
  @ApiProperty({ format: 'uuid', description: 'Id of the mapping; DELETE /api/mappings/{mapping_id}/ unassigns.' })
  mapping_id: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  assigned_at: string;
}

/** A mapping as the staff console lists it: with the names it joins. */
export class AdminMappingDto extends MappingDto {
  @ApiProperty({ example: 'Grace Hopper' })
  patient_name: string;

  @ApiProperty({ example: 'Dr. Alan Turing' })
  doctor_name: string;

  @ApiProperty({ format: 'uuid', description: "Id of the patient's owner." })
  owner: string;
}

export function toMappingDto(m: Mapping): MappingDto {
  return { id: m.id, patient: m.patientId, doctor: m.doctorId, created_at: m.createdAt.toISOString() };
}

export function toAssignedDoctorDto(m: Mapping): AssignedDoctorDto {
  if (!m.doctor) throw new Error('mapping loaded without its doctor');
  return { ...toDoctorDto(m.doctor), mapping_id: m.id, assigned_at: m.createdAt.toISOString() };
}

export function toAdminMappingDto(m: Mapping): AdminMappingDto {
  if (!m.patient || !m.doctor) throw new Error('mapping loaded without its patient and doctor');
  return { ...toMappingDto(m), patient_name: m.patient.name, doctor_name: m.doctor.name, owner: m.ownerId };
}
