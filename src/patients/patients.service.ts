import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type Repository, type SelectQueryBuilder } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec, keysetPage, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { entityFromRow, likeContains, toDate } from '../common/sql.js';
import { PreparedSql, preparedFetch } from '../database/prepared-sql.js';
import type { CreatePatientDto } from './dto/create-patient.dto.js';
import type { ListAdminPatientsDto } from './dto/list-admin-patients.dto.js';
import type { ListPatientsDto } from './dto/list-patients.dto.js';
import { type AdminPatientDto, type PatientDto, toAdminPatientDto, toPatientDto } from './dto/patient-response.dto.js';
import type { UpdatePatientDto } from './dto/update-patient.dto.js';
import { Patient } from './patient.entity.js';

const ORDER_FIELDS: Record<string, SortField> = {
  name: { column: 'name', kind: 'string' },
  created_at: { column: 'created_at', kind: 'date' },
  age: { column: 'age', kind: 'number' },
};
const PROPERTY_OF: Record<string, string> = { name: 'name', created_at: 'createdAt', age: 'age' };
const RETURNING = ['id', 'ownerId', 'name', 'age', 'gender', 'address', 'createdAt', 'updatedAt'];

// The hottest read (a patient by id: every GET, PUT check and mapping create), as prepared statements.
const COLUMNS = 'id, owner_id, name, age, gender, address, created_at, updated_at';
const BY_ID = `SELECT ${COLUMNS} FROM patients WHERE id = $1`;
const BY_ID_AND_OWNER = `SELECT ${COLUMNS} FROM patients WHERE id = $1 AND owner_id = $2`;

interface PatientRow {
  id: string;
  owner_id: string;
  name: string;
  age: number;
  gender: Patient['gender'];
  address: string;
  created_at: Date | string;
  updated_at: Date | string;
}

function patientFromRow(row: PatientRow): Patient {
  const patient = new Patient();
  patient.id = row.id;
  patient.ownerId = row.owner_id;
  patient.name = row.name;
  patient.age = row.age;
  patient.gender = row.gender;
  patient.address = row.address;
  patient.createdAt = toDate(row.created_at);
  patient.updatedAt = toDate(row.updated_at);
  return patient;
}

/** A row of TypeORM's SELECT for alias p: every column as p_<column>. */
function patientFromAliasedRow(row: Record<string, unknown>): Patient {
  const patient = new Patient();
  patient.id = row.p_id as string;
  patient.ownerId = row.p_owner_id as string;
  patient.name = row.p_name as string;
  patient.age = row.p_age as number;
  patient.gender = row.p_gender as Patient['gender'];
  patient.address = row.p_address as string;
  patient.createdAt = toDate(row.p_created_at);
  patient.updatedAt = toDate(row.p_updated_at);
  return patient;
}

/**
 * Patients belong to the user who created them. Everyone else gets 404 for
 * them, exactly as for a missing id; admins see and change every patient.
 */
@Injectable()
export class PatientsService {
  constructor(
    @InjectRepository(Patient) private readonly patients: Repository<Patient>,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly sql: PreparedSql,
  ) {}

  /** Each write and its audit event commit together. */
  async create(user: AuthUser, dto: CreatePatientDto): Promise<PatientDto> {
    return this.dataSource.transaction(async (m) => {
      const result = await m
        .getRepository(Patient)
        .createQueryBuilder()
        .insert()
        .values({ ownerId: user.id, name: dto.name, age: dto.age, gender: dto.gender, address: dto.address ?? '' })
        .returning(RETURNING)
        .execute();
      const patient = this.patients.create(result.generatedMaps[0] as Patient);
      await this.audit.record({ action: 'create', resourceType: 'patient', resourceId: patient.id, patientId: patient.id, status: 201 }, m);
      return toPatientDto(patient);
    });
  }

  async list(user: AuthUser, query: ListPatientsDto, url: URL): Promise<PageDto<PatientDto>> {
    const page = await this.filteredPage(
      query,
      url,
      'patients',
      (qb) => {
        if (user.role !== 'admin') qb.andWhere('p.owner_id = :ownerId', { ownerId: user.id });
      },
      // The front desk's list, as a prepared statement.
      preparedFetch(this.sql, patientFromAliasedRow),
    );
    return { ...page, results: page.results.map(toPatientDto) };
  }

  /** The staff console's list: every owner's patients (or one owner's), each with its owner's username. */
  async listAll(query: ListAdminPatientsDto, url: URL): Promise<PageDto<AdminPatientDto>> {
    const page = await this.filteredPage(query, url, 'admin-patients', (qb) => {
      qb.innerJoin('p.owner', 'o').addSelect(['o.id', 'o.username']);
      if (query.owner) qb.andWhere('p.owner_id = :ownerId', { ownerId: query.owner });
    });
    return { ...page, results: page.results.map(toAdminPatientDto) };
  }

  private async filteredPage(
    query: ListPatientsDto,
    url: URL,
    listName: string,
    narrow: (qb: SelectQueryBuilder<Patient>) => void,
    fetch?: (qb: SelectQueryBuilder<Patient>) => Promise<Patient[]>,
  ): Promise<PageDto<Patient>> {
    const ordering = parseOrdering(query.ordering, ORDER_FIELDS, '-created_at');
    const page = pageRequest(query, ordering, this.cursors, listName);
    const qb = this.patients.createQueryBuilder('p');
    narrow(qb);
    if (query.search) qb.andWhere(`p.name ILIKE :search`, { search: likeContains(query.search) });
    if (query.gender) qb.andWhere('p.gender = :gender', { gender: query.gender });
    if (query.min_age !== undefined) qb.andWhere('p.age >= :minAge', { minAge: query.min_age });
    if (query.max_age !== undefined) qb.andWhere('p.age <= :maxAge', { maxAge: query.max_age });
    return keysetPage(qb, 'p', page, (c) => PROPERTY_OF[c], this.cursors, { url, fetch });
  }

  async get(user: AuthUser, id: string): Promise<PatientDto> {
    return toPatientDto(await this.findVisible(user, id));
  }

  /** The patient if the caller may see it, else 404. Used by mappings too. */
  async findVisible(user: AuthUser, id: string): Promise<Patient> {
    const [row] =
      user.role === 'admin'
        ? await this.sql.query<PatientRow>(BY_ID, [id])
        : await this.sql.query<PatientRow>(BY_ID_AND_OWNER, [id, user.id]);
    if (!row) throw new NotFoundException('Patient not found.');
    return patientFromRow(row);
  }

  /** PUT and PATCH: one conditional UPDATE; 404 when the patient is not the caller's. */
  async update(user: AuthUser, id: string, dto: UpdatePatientDto): Promise<PatientDto> {
    const changes: Partial<Patient> = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.age !== undefined) changes.age = dto.age;
    if (dto.gender !== undefined) changes.gender = dto.gender;
    if (dto.address !== undefined) changes.address = dto.address;

    return this.dataSource.transaction(async (m) => {
      const qb = m
        .getRepository(Patient)
        .createQueryBuilder()
        .update()
        .set({ ...changes, updatedAt: () => 'now()' })
        .where('id = :id', { id });
      if (user.role !== 'admin') qb.andWhere('owner_id = :ownerId', { ownerId: user.id });
      const result = await qb.returning(RETURNING).execute();
      const row = (result.raw as Record<string, unknown>[])[0];
      if (!row) throw new NotFoundException('Patient not found.');
      await this.audit.record({ action: 'update', resourceType: 'patient', resourceId: id, patientId: id, status: 200 }, m);
      return toPatientDto(entityFromRow(this.patients, row));
    });
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const qb = m.getRepository(Patient).createQueryBuilder().delete().where('id = :id', { id });
      if (user.role !== 'admin') qb.andWhere('owner_id = :ownerId', { ownerId: user.id });
      const result = await qb.execute();
      if (!result.affected) throw new NotFoundException('Patient not found.');
      await this.audit.record({ action: 'delete', resourceType: 'patient', resourceId: id, patientId: id, status: 204 }, m);
    });
  }
}
