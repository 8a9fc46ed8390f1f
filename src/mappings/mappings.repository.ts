import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { EntityRows } from '../database/entity-rows.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { type ListConditions, type ListQuery, scopeOf, TableQueries } from '../database/table-queries.js';
import { Doctor } from '../doctors/doctor.entity.js';
import { Patient } from '../patients/patient.entity.js';
import { MAPPING_SORTS } from './dto/list-mappings.dto.js';
import { Mapping } from './mapping.entity.js';

export interface MappingFilter {
  ownerId?: string;
  patientId?: string;
  doctorId?: string;
}

const MAPPING_CONDITIONS: ListConditions<MappingFilter> = {
  ownerId: 'm.owner_id = :ownerId',
  patientId: 'm.patient_id = :patientId',
  doctorId: 'm.doctor_id = :doctorId',
};

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
    return (await this.table.listPageRows(this.lists.plain, filter, page, false)).map((row) => this.rows.fromRow(row));
  }

  /** As listPage, each mapping with its patient's and doctor's names, for the staff console. */
  async listPageWithNames(filter: MappingFilter, page: PageRequest): Promise<Mapping[]> {
    return (await this.table.listPageRows(this.lists.withNames, filter, page, false)).map((row) => this.withJoined(row));
  }

  /** As listPage, each mapping with its whole doctor: a patient's doctors. */
  async listPageWithDoctors(filter: MappingFilter, page: PageRequest): Promise<Mapping[]> {
    return (await this.table.listPageRows(this.lists.withDoctors, filter, page, false)).map((row) => this.withJoined(row));
  }

  // A mapping shows only while its patient and its doctor are both live: deleting either hides it, restoring brings it back.
  private readonly lists: Record<'plain' | 'withNames' | 'withDoctors', ListQuery<Mapping, MappingFilter>> = {
    plain: {
      name: 'mappings',
      alias: 'm',
      conditions: MAPPING_CONDITIONS,
      select: (qb) => qb.select(this.rows.selectList('m')).innerJoin(Patient, 'p', LIVE_PATIENT).innerJoin(Doctor, 'd', LIVE_DOCTOR),
    },
    withNames: {
      name: 'mappings-with-names',
      alias: 'm',
      conditions: MAPPING_CONDITIONS,
      select: (qb) =>
        qb
          .select(this.rows.selectList('m'))
          .addSelect(this.patients.selectList('p', 'patient.', ['id', 'name']))
          .addSelect(this.doctors.selectList('d', 'doctor.', ['id', 'name']))
          .innerJoin(Patient, 'p', LIVE_PATIENT)
          .innerJoin(Doctor, 'd', LIVE_DOCTOR),
    },
    // A patient's doctors: the service has found the patient live already.
    withDoctors: {
      name: 'mappings-with-doctors',
      alias: 'm',
      conditions: MAPPING_CONDITIONS,
      select: (qb) => qb.select(this.rows.selectList('m')).addSelect(this.doctors.selectList('d', 'doctor.')).innerJoin(Doctor, 'd', LIVE_DOCTOR),
    },
  };

  private withJoined(row: Record<string, unknown>): Mapping {
    const mapping = this.rows.fromRow(row);
    if (Object.hasOwn(row, 'patient.id')) mapping.patient = this.patients.fromRow(row, 'patient.');
    if (Object.hasOwn(row, 'doctor.id')) mapping.doctor = this.doctors.fromRow(row, 'doctor.');
    return mapping;
  }

  /**
   * Whether the patient and the doctor are both live, each locked (FOR SHARE)
   * against a concurrent delete until the caller's transaction ends: what a
   * new mapping needs (the foreign keys pass a deleted one).
   */
  async lockEnds(patientId: string, doctorId: string, manager: EntityManager): Promise<{ patient: boolean; doctor: boolean }> {
    const [row] = await manager.query(
      `SELECT EXISTS (SELECT 1 FROM (SELECT 1 FROM patients WHERE id = $1 AND deleted_at IS NULL FOR SHARE) p) AS patient,
              EXISTS (SELECT 1 FROM (SELECT 1 FROM doctors WHERE id = $2 AND deleted_at IS NULL FOR SHARE) d) AS doctor`,
      [patientId, doctorId],
    );
    return { patient: row.patient === true, doctor: row.doctor === true };
  }

  insert(values: NewMapping, manager: EntityManager): Promise<Mapping> {
    return this.table.insert(values, manager);
  }

  /**
   * Deletes the mapping (of this owner's patients, when one is given) while
   * its patient and doctor are live (a hidden mapping is not found); the
   * deleted mapping, or null.
   */
  async delete(id: string, ownerId: string | undefined, manager: EntityManager): Promise<Mapping | null> {
    const [row] = (
      await manager
        .createQueryBuilder()
        .delete()
        .from(Mapping)
        .where({ ...scopeOf<Mapping>('ownerId', ownerId), id })
        .andWhere('EXISTS (SELECT 1 FROM patients p WHERE p.id = patient_id AND p.deleted_at IS NULL)')
        .andWhere('EXISTS (SELECT 1 FROM doctors d WHERE d.id = doctor_id AND d.deleted_at IS NULL)')
        .returning(this.rows.returning())
        .execute()
    ).raw as Array<Record<string, unknown>>;
    return row ? this.rows.fromRow(row) : null;
  }
}

const LIVE_PATIENT = 'p.id = m.patient_id AND p.deleted_at IS NULL';
const LIVE_DOCTOR = 'd.id = m.doctor_id AND d.deleted_at IS NULL';
