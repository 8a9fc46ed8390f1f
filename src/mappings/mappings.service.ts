import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { constraintOf, FOREIGN_KEY_VIOLATION, sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec, keysetPage, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { PatientsService } from '../patients/patients.service.js';
import type { CreateMappingDto } from './dto/create-mapping.dto.js';
import type { ListAdminMappingsDto } from './dto/list-admin-mappings.dto.js';
import type { ListMappingsDto } from './dto/list-mappings.dto.js';
import {
  type AdminMappingDto,
  type AssignedDoctorDto,
  type MappingDto,
  toAdminMappingDto,
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
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * The patient must be the caller's and the doctor must exist (else 404); the
   * pair's unique key decides duplicates (409), so concurrent creates are safe.
   */
  async create(user: AuthUser, dto: CreateMappingDto): Promise<MappingDto> {
    const patient = await this.patients.findVisible(user, dto.patient);
    try {
      return await this.dataSource.transaction(async (m) => {
        const result = await m
          .getRepository(Mapping)
          .createQueryBuilder()
          .insert()
          .values({ patientId: patient.id, ownerId: patient.ownerId, doctorId: dto.doctor })
          .returning(['id', 'patientId', 'ownerId', 'doctorId', 'createdAt'])
          .execute();
        const mapping = this.mappings.create(result.generatedMaps[0] as Mapping);
        await this.audit.record(
          { action: 'create', resourceType: 'mapping', resourceId: mapping.id, patientId: patient.id, status: 201 },
          m,
        );
        return toMappingDto(mapping);
      });
    } catch (error) {
      const state = sqlState(error);
      if (state === UNIQUE_VIOLATION) throw new ConflictException('This doctor is already assigned to this patient.');
      if (state === FOREIGN_KEY_VIOLATION) {
        const constraint = constraintOf(error);
        // The patient can vanish between the check and the insert; both read as "not found".
        // Match the column: both constraint names start with the table name, patient_doctor_mappings_.
        throw new NotFoundException(constraint.includes('patient_id') ? 'Patient not found.' : 'Doctor not found.');
      }
      throw error;
    }
  }

  /** The mappings of the caller's patients (an admin's: all), newest first. */
  async list(user: AuthUser, query: ListMappingsDto, url: URL): Promise<PageDto<MappingDto>> {
    const page = pageRequest(query, parseOrdering(undefined, ORDER_FIELDS, '-created_at'), this.cursors, 'mappings');
    const qb = this.mappings.createQueryBuilder('m');
    // One range of patient_doctor_mappings_owner_created_idx, however large the table.
    if (user.role !== 'admin') qb.andWhere('m.owner_id = :ownerId', { ownerId: user.id });
    const result = await keysetPage(qb, 'm', page, propertyOf, this.cursors, { url });
    return { ...result, results: result.results.map(toMappingDto) };
  }

  /** The staff console's list: every mapping, newest first, with the patient's and doctor's names. */
  async listAll(query: ListAdminMappingsDto, url: URL): Promise<PageDto<AdminMappingDto>> {
    const page = pageRequest(query, parseOrdering(undefined, ORDER_FIELDS, '-created_at'), this.cursors, 'admin-mappings');
    const qb = this.mappings
      .createQueryBuilder('m')
      .innerJoin('m.patient', 'p')
      .addSelect(['p.id', 'p.name'])
      .innerJoin('m.doctor', 'd')
      .addSelect(['d.id', 'd.name']);
    if (query.patient) qb.andWhere('m.patient_id = :patientId', { patientId: query.patient });
    if (query.doctor) qb.andWhere('m.doctor_id = :doctorId', { doctorId: query.doctor });
    if (query.owner) qb.andWhere('m.owner_id = :ownerId', { ownerId: query.owner });
    const result = await keysetPage(qb, 'm', page, propertyOf, this.cursors, { url });
    return { ...result, results: result.results.map(toAdminMappingDto) };
  }

  /** The doctors assigned to one of the caller's patients, most recently assigned first. */
  async doctorsOf(
    user: AuthUser,
    patientId: string,
    query: ListMappingsDto,
    url: URL,
  ): Promise<PageDto<AssignedDoctorDto>> {
    await this.patients.findVisible(user, patientId);
    const page = pageRequest(
      query,
      parseOrdering(undefined, ORDER_FIELDS, '-created_at'),
      this.cursors,
      `doctors-of:${patientId}`,
    );
    const qb = this.mappings
      .createQueryBuilder('m')
      .innerJoinAndSelect('m.doctor', 'd')
      .andWhere('m.patient_id = :patientId', { patientId });
    const result = await keysetPage(qb, 'm', page, propertyOf, this.cursors, { url });
    return { ...result, results: result.results.map(toAssignedDoctorDto) };
  }

  /** Unassigns; a mapping of someone else's patient is 404, as a missing one. */
  async remove(user: AuthUser, id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const qb = m.getRepository(Mapping).createQueryBuilder().delete().where('id = :id', { id });
      if (user.role !== 'admin') qb.andWhere('owner_id = :ownerId', { ownerId: user.id });
      const result = await qb.returning(['patientId']).execute();
      const row = (result.raw as Array<{ patient_id: string }>)[0];
      if (!row) throw new NotFoundException('Mapping not found.');
      await this.audit.record(
        { action: 'delete', resourceType: 'mapping', resourceId: id, patientId: row.patient_id, status: 204 },
        m,
      );
    });
  }
}
