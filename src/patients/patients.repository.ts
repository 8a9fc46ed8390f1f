import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { Preconditions } from '../common/preconditions.js';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { searchPattern } from '../common/search.js';
import { EntityRows } from '../database/entity-rows.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { type ListConditions, type ListQuery, scopeOf, TableQueries } from '../database/table-queries.js';
import { User } from '../users/user.entity.js';
import { PATIENT_SORTS } from './dto/list-patients.dto.js';
import { Patient } from './patient.entity.js';

/** What a patient list is narrowed to; every field optional. */
export interface PatientFilter {
  ownerId?: string;
  search?: string;
  gender?: string;
  minAge?: number;
  maxAge?: number;
}

const PATIENT_CONDITIONS: ListConditions<PatientFilter> = {
  ownerId: 'p.owner_id = :ownerId',
  search: { where: 'p.name ILIKE :search', value: searchPattern },
  gender: 'p.gender = :gender',
  minAge: 'p.age >= :minAge',
  maxAge: 'p.age <= :maxAge',
};

export type NewPatient = Pick<Patient, 'ownerId' | 'name' | 'age' | 'gender' | 'address'>;
export type PatientChanges = Partial<Pick<Patient, 'name' | 'age' | 'gender' | 'address'>>;

/**
 * Every query on `patients`. Reads (`find*`, `list*`) may later go to a
 * replica; writes (`insert*`, `update*`, `delete*`) run in the caller's
 * transaction. The hot reads (one patient by id, the list pages) run as named
 * prepared statements.
 */
@Injectable()
export class PatientsRepository {
  private readonly table: TableQueries<Patient>;
  private readonly owners: EntityRows<User>;
  private statements?: { sortFields: Record<string, SortField>; byId: string; byIdAndOwner: string };

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly sql: PreparedSql,
  ) {
    this.table = new TableQueries(dataSource, sql, Patient);
    this.owners = new EntityRows(dataSource, User);
  }

  private get rows(): EntityRows<Patient> {
    return this.table.rows;
  }

  /** Built on first use, from metadata that exists once the database is connected (see EntityRows). */
  private get built() {
    if (!this.statements) {
      // The hottest read (every GET, PUT check and mapping create).
      const select = `SELECT ${this.rows.selectList('patients')} FROM patients`;
      this.statements = {
        sortFields: this.rows.sortFields(PATIENT_SORTS),
        byId: `${select} WHERE id = $1`,
        byIdAndOwner: `${select} WHERE id = $1 AND owner_id = $2`,
      };
    }
    return this.statements;
  }

  get sortFields(): Record<string, SortField> {
    return this.built.sortFields;
  }

  /** The patient with this id (of this owner, when one is given), or null. */
  async findById(id: string, ownerId?: string): Promise<Patient | null> {
    const [row] =
      ownerId === undefined
        ? await this.sql.query(this.built.byId, [id])
        : await this.sql.query(this.built.byIdAndOwner, [id, ownerId]);
    return row ? this.rows.fromRow(row) : null;
  }

  /** The patient (of this owner, when one is given), its row locked until the caller's transaction ends: what a change starts from. */
  async findForUpdate(id: string, ownerId: string | undefined, manager: EntityManager): Promise<Patient | null> {
    const [row] =
      ownerId === undefined
        ? await manager.query(`${this.built.byId} FOR UPDATE`, [id])
        : await manager.query(`${this.built.byIdAndOwner} FOR UPDATE`, [id, ownerId]);
    return row ? this.rows.fromRow(row) : null;
  }

  /** One keyset page (up to pageSize + 1 rows, in SQL order: see pageOf). */
  async listPage(filter: PatientFilter, page: PageRequest): Promise<Patient[]> {
    const rows = await this.table.listPageRows(this.lists.plain, filter, page, filter.search !== undefined);
    return rows.map((row) => this.rows.fromRow(row));
  }

  /** As listPage, each patient with its owner (id and username), for the staff console. */
  async listPageWithOwners(filter: PatientFilter, page: PageRequest): Promise<Patient[]> {
    const rows = await this.table.listPageRows(this.lists.withOwners, filter, page, filter.search !== undefined);
    return rows.map((row) => Object.assign(this.rows.fromRow(row), { owner: this.owners.fromRow(row, 'owner.') }));
  }

  private readonly lists: Record<'plain' | 'withOwners', ListQuery<Patient, PatientFilter>> = {
    plain: { name: 'patients', alias: 'p', conditions: PATIENT_CONDITIONS, select: (qb) => qb.select(this.rows.selectList('p')) },
    withOwners: {
      name: 'patients-with-owners',
      alias: 'p',
      conditions: PATIENT_CONDITIONS,
      select: (qb) =>
        qb
          .select(this.rows.selectList('p'))
          .addSelect(this.owners.selectList('o', 'owner.', ['id', 'username']))
          .innerJoin(User, 'o', 'o.id = p.owner_id'),
    },
  };

  insert(values: NewPatient, manager: EntityManager): Promise<Patient> {
    return this.table.insert(values, manager);
  }

  /** Changes the patient (of this owner, when one is given); null when no row matched (also when its version fails `conditions`). */
  update(id: string, changes: PatientChanges, ownerId: string | undefined, manager: EntityManager, conditions?: Preconditions): Promise<Patient | null> {
    return this.table.update(id, changes, scopeOf<Patient>('ownerId', ownerId), manager, conditions);
  }

  /** Deletes the patient (of this owner, when one is given); false when no row matched (also when its version fails `conditions`). */
  async delete(id: string, ownerId: string | undefined, manager: EntityManager, conditions?: Preconditions): Promise<boolean> {
    return (await this.table.delete(id, scopeOf<Patient>('ownerId', ownerId), manager, conditions)) !== null;
  }
}
