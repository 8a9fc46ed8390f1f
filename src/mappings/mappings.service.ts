import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { QueryFailedError } from 'typeorm';
import { FOREIGN_KEY_VIOLATION, sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import type { AuthUser } from '../common/decorators.js';
import { CursorCodec, keysetPage, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { PatientsService } from '../patients/patients.service.js';
import type { CreateMappingDto } from './dto/create-mapping.dto.js';
import type { ListMappingsDto } from './dto/list-mappings.dto.js';
import {
  type AssignedDoctorDto,
  type MappingDto,
  toAssignedDoctorDto,
  toMappingDto,
} from './dto/mapping-response.dto.js';
import { Mapping } from './mapping.entity.js';

const ORDER_FIELDS: Record<string, SortField> = { created_at: { column: 'created_at', kind: 'date' } };
const propertyOf = () => 'createdAt';

@Injectable()
export class MappingsService {
  constructor(
    @InjectRepository(Mapping) private readonly mappings: Repository<Mapping>,
    private readonly patients: PatientsService,
    private readonly cursors: CursorCodec,
  ) {}

  /**
   * The patient must be the caller's and the doctor must exist (else 404); the
   * pair's unique key decides duplicates (409), so concurrent creates are safe.
   */
  async create(user: AuthUser, dto: CreateMappingDto): Promise<MappingDto> {
    await this.patients.findVisible(user, dto.patient);
    try {
      const result = await this.mappings
        .createQueryBuilder()
        .insert()
        .values({ patientId: dto.patient, doctorId: dto.doctor })
        .returning(['id', 'patientId', 'doctorId', 'createdAt'])
        .execute();
      return toMappingDto(this.mappings.create(result.generatedMaps[0] as Mapping));
    } catch (error) {
      const state = sqlState(error);
      if (state === UNIQUE_VIOLATION) throw new ConflictException('This doctor is already assigned to this patient.');
      if (state === FOREIGN_KEY_VIOLATION) {
        const constraint = String(((error as QueryFailedError).driverError as { constraint?: string }).constraint ?? '');
        // The patient can vanish between the check and the insert; both read as "not found".
        // Match the column: both constraint names start with the table name, patient_doctor_mappings_.
        throw new NotFoundException(constraint.includes('patient_id') ? 'Patient not found.' : 'Doctor not found.');
      }
      throw error;
    }
  }

  /** The mappings of the caller's patients (an admin's: all), newest first. */
  async list(user: AuthUser, query: ListMappingsDto, url: URL): Promise<PageDto<MappingDto>> {
    const page = pageRequest(query, parseOrdering(undefined, ORDER_FIELDS, '-created_at'), this.cursors);
    const qb = this.mappings.createQueryBuilder('m');
    if (user.role !== 'admin') {
      qb.innerJoin('m.patient', 'p').andWhere('p.owner_id = :ownerId', { ownerId: user.id });
    }
    const result = await keysetPage(qb, 'm', page, propertyOf, this.cursors, { url });
    return { ...result, results: result.results.map(toMappingDto) };
  }

  /** The doctors assigned to one of the caller's patients, most recently assigned first. */
  async doctorsOf(
    user: AuthUser,
    patientId: string,
    query: ListMappingsDto,
    url: URL,
  ): Promise<PageDto<AssignedDoctorDto>> {
    await this.patients.findVisible(user, patientId);
    const page = pageRequest(query, parseOrdering(undefined, ORDER_FIELDS, '-created_at'), this.cursors);
    const qb = this.mappings
      .createQueryBuilder('m')
      .innerJoinAndSelect('m.doctor', 'd')
      .andWhere('m.patient_id = :patientId', { patientId });
    const result = await keysetPage(qb, 'm', page, propertyOf, this.cursors, { url });
    return { ...result, results: result.results.map(toAssignedDoctorDto) };
  }

  /** Unassigns; a mapping of someone else's patient is 404, as a missing one. */
  async remove(user: AuthUser, id: string): Promise<void> {
    const params: unknown[] = [id];
    let sql = 'DELETE FROM patient_doctor_mappings m WHERE m.id = $1';
    if (user.role !== 'admin') {
      sql += ' AND EXISTS (SELECT 1 FROM patients p WHERE p.id = m.patient_id AND p.owner_id = $2)';
      params.push(user.id);
    }
    const [, affected] = (await this.mappings.query(`${sql} RETURNING m.id`, params)) as [unknown[], number];
    if (!affected) throw new NotFoundException('Mapping not found.');
  }
}
