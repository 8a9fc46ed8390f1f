import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { constraintOf, FOREIGN_KEY_VIOLATION, sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { type PageRequest, pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import type { PageQueryDto } from '../common/pagination/page-query.dto.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { writeTransaction } from '../database/write-transaction.js';
import { PatientsService } from '../patients/patients.service.js';
import type { CreateMappingDto } from './dto/create-mapping.dto.js';
import type { ListAdminMappingsDto } from './dto/list-admin-mappings.dto.js';
import { type ListMappingsDto, MAPPING_ORDERING } from './dto/list-mappings.dto.js';
import {
  type AdminMappingDto,
  type AssignedDoctorDto,
  type MappingDto,
  toAdminMappingDto,
  toAssignedDoctorDto,
  toMappingDto,
} from './dto/mapping-response.dto.js';
import { MappingsRepository } from './mappings.repository.js';

@Injectable()
export class MappingsService {
  constructor(
    private readonly mappings: MappingsRepository,
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
      return await writeTransaction(this.dataSource, async (m) => {
        // Both ends live, and kept so until this commits (a deleted patient or doctor still satisfies the foreign keys).
        const ends = await this.mappings.lockEnds(patient.id, dto.doctor, m);
        if (!ends.patient) throw new NotFoundException('Patient not found.');
        if (!ends.doctor) throw new NotFoundException('Doctor not found.');
        const mapping = await this.mappings.insert({ patientId: patient.id, ownerId: patient.ownerId, doctorId: dto.doctor }, m);
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
    const page = this.pageRequest(user, query, 'mappings');
    // One range of patient_doctor_mappings_owner_created_idx, however large the table.
    const rows = await this.mappings.listPage({ ownerId: user.role === 'admin' ? undefined : user.id }, page);
    return mapPage(pageOf(rows, page, url, this.cursors), toMappingDto);
  }

  /** The staff console's list: every mapping, newest first, with the patient's and doctor's names. */
  async listAll(user: AuthUser, query: ListAdminMappingsDto, url: URL): Promise<PageDto<AdminMappingDto>> {
    const page = this.pageRequest(user, query, 'admin-mappings');
    const rows = await this.mappings.listPageWithNames(
      { patientId: query.patient, doctorId: query.doctor, ownerId: query.owner },
      page,
    );
    return mapPage(pageOf(rows, page, url, this.cursors), toAdminMappingDto);
  }

  /** The doctors assigned to one of the caller's patients, most recently assigned first. */
  async doctorsOf(
    user: AuthUser,
    patientId: string,
    query: ListMappingsDto,
    url: URL,
  ): Promise<PageDto<AssignedDoctorDto>> {
    await this.patients.findVisible(user, patientId);
    const page = this.pageRequest(user, query, `doctors-of:${patientId}`);
    const rows = await this.mappings.listPageWithDoctors({ patientId }, page);
    return mapPage(pageOf(rows, page, url, this.cursors), toAssignedDoctorDto);
  }

  private pageRequest(user: AuthUser, query: PageQueryDto, list: string): PageRequest {
    const ordering = parseOrdering(undefined, this.mappings.sortFields, MAPPING_ORDERING);
    return pageRequest(query, ordering, this.cursors, list, user);
  }

  /** Unassigns; a mapping of someone else's patient is 404, as a missing one. */
  async remove(user: AuthUser, id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const deleted = await this.mappings.delete(id, user.role === 'admin' ? undefined : user.id, m);
      if (!deleted) throw new NotFoundException('Mapping not found.');
      await this.audit.record(
        { action: 'delete', resourceType: 'mapping', resourceId: id, patientId: deleted.patientId, status: 204 },
        m,
      );
    });
  }
}
