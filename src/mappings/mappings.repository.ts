import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { EntityRows } from '../database/entity-rows.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { scopeOf, TableQueries } from '../database/table-queries.js';
import { Doctor } from '../doctors/doctor.entity.js';
import { Patient } from '../patients/patient.entity.js';
import { MAPPING_SORTS } from './dto/list-mappings.dto.js';
import { Mapping } from './mapping.entity.js';

export interface MappingFilter {
  ownerId?: string;
  patientId?: string;
  doctorId?: string;
}

export type NewMapping = Pick<Mapping, 'patientId' | 'ownerId' | 'doctorId'>;

/**
 * Every query on `patient_doctor_mappings`. Reads (`list*`) may later go to a
 * replica; writes run in the caller's transaction.
 */
@Injectable()
export class MappingsRepository {
  private readonly table: TableQueries<Mapping>;
  private readonly patients: EntityRows<Patient>;
  private readonly doctors: EntityRows<Doctor>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    sql: PreparedSql,
  ) {
    this.table = new TableQueries(dataSource, sql, Mapping);
    this.patients = new EntityRows(dataSource, Patient);
    this.doctors = new EntityRows(dataSource, Doctor);
  }

  private get rows(): EntityRows<Mapping> {
    return this.table.rows;
  }

  /** Derived on first use, from metadata that exists once the database is connected (see EntityRows). */
  get sortFields(): Record<string, SortField> {
    return this.rows.sortFields(MAPPING_SORTS);
  }

  /** One keyset page of mappings (up to pageSize + 1 rows, in SQL order: see pageOf). */
  async listPage(filter: MappingFilter, page: PageRequest): Promise<Mapping[]> {
    const qb = this.filtered(filter).select(this.rows.selectList('m'));
    return (await this.table.listPageRows(qb, 'm', page, false)).map((row) => this.rows.fromRow(row));
  }

  /** As listPage, each mapping with its patient's and doctor's names, for the staff console. */
  async listPageWithNames(filter: MappingFilter, page: PageRequest): Promise<Mapping[]> {
    const qb = this.filtered(filter)
      .select(this.rows.selectList('m'))
      .addSelect(this.patients.selectList('p', 'patient.', ['id', 'name']))
      .addSelect(this.doctors.selectList('d', 'doctor.', ['id', 'name']))
      .innerJoin(Patient, 'p', 'p.id = m.patient_id')
      .innerJoin(Doctor, 'd', 'd.id = m.doctor_id');
    return (await this.table.listPageRows(qb, 'm', page, false)).map((row) => this.withJoined(row));
  }

  /** As listPage, each mapping with its whole doctor: a patient's doctors. */
  async listPageWithDoctors(filter: MappingFilter, page: PageRequest): Promise<Mapping[]> {
    const qb = this.filtered(filter)
      .select(this.rows.selectList('m'))
      .addSelect(this.doctors.selectList('d', 'doctor.'))
      .innerJoin(Doctor, 'd', 'd.id = m.doctor_id');
    return (await this.table.listPageRows(qb, 'm', page, false)).map((row) => this.withJoined(row));
  }

  private withJoined(row: Record<string, unknown>): Mapping {
    const mapping = this.rows.fromRow(row);
    if (Object.hasOwn(row, 'patient.id')) mapping.patient = this.patients.fromRow(row, 'patient.');
    if (Object.hasOwn(row, 'doctor.id')) mapping.doctor = this.doctors.fromRow(row, 'doctor.');
    return mapping;
  }

  private filtered(filter: MappingFilter): SelectQueryBuilder<Mapping> {
    const qb = this.table.select('m');
    if (filter.ownerId !== undefined) qb.andWhere('m.owner_id = :ownerId', { ownerId: filter.ownerId });
    if (filter.patientId !== undefined) qb.andWhere('m.patient_id = :patientId', { patientId: filter.patientId });
    if (filter.doctorId !== undefined) qb.andWhere('m.doctor_id = :doctorId', { doctorId: filter.doctorId });
    return qb;
  }

  insert(values: NewMapping, manager: EntityManager): Promise<Mapping> {
    return this.table.insert(values, manager);
  }

  /** Deletes the mapping (of this owner's patients, when one is given); the deleted mapping, or null. */
  delete(id: string, ownerId: string | undefined, manager: EntityManager): Promise<Mapping | null> {
    return this.table.delete(id, scopeOf<Mapping>('ownerId', ownerId), manager);
  }
}
