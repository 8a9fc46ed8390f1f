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
  private statements?: { sortFields: Record<string, SortField>; deletedSort: Record<string, SortField>; byId: string; byIdAndOwner: string };

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
        deletedSort: this.rows.sortFields({ deleted_at: 'deletedAt' }),
        // Live patients only: a deleted one is not found, as before deletes could be undone.
        byId: `${select} WHERE id = $1 AND deleted_at IS NULL`,
        byIdAndOwner: `${select} WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`,
      };
    }
    return this.statements;
  }

  get sortFields(): Record<string, SortField> {
    return this.built.sortFields;
  }

  /** The deleted list's one ordering, `deleted_at`. */
  get deletedSortFields(): Record<string, SortField> {
    return this.built.deletedSort;
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

  /** One keyset page of the deleted patients (of one owner, when given), for the admins' Deleted list. */
  async listDeletedPage(filter: Pick<PatientFilter, 'ownerId'>, page: PageRequest): Promise<Patient[]> {
    const rows = await this.table.listPageRows(this.lists.deleted, filter, page, false);
    return rows.map((row) => this.rows.fromRow(row));
  }

  /** As listPage, each patient with its owner (id and username), for the staff console. */
  async listPageWithOwners(filter: PatientFilter, page: PageRequest): Promise<Patient[]> {
    const rows = await this.table.listPageRows(this.lists.withOwners, filter, page, filter.search !== undefined);
    return rows.map((row) => Object.assign(this.rows.fromRow(row), { owner: this.owners.fromRow(row, 'owner.') }));
  }

  private readonly lists: Record<'plain' | 'withOwners' | 'deleted', ListQuery<Patient, PatientFilter>> = {
    plain: { name: 'patients', alias: 'p', always: LIVE, conditions: PATIENT_CONDITIONS, select: (qb) => qb.select(this.rows.selectList('p')) },
    deleted: { name: 'patients-deleted', alias: 'p', always: 'p.deleted_at IS NOT NULL', conditions: PATIENT_CONDITIONS, select: (qb) => qb.select(this.rows.selectList('p')) },
    withOwners: {
      name: 'patients-with-owners',
      alias: 'p',
      always: LIVE,
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

  /**
   * Marks the live patient (of this owner, when one is given) deleted by this
   * user; false when no live row matched (also when its version fails
   * `conditions`). Its mappings stay, hidden with it.
   */
  async softDelete(id: string, deletedById: string, ownerId: string | undefined, manager: EntityManager, conditions?: Preconditions): Promise<Patient | null> {
    return this.table.softDelete(id, deletedById, scopeOf<Patient>('ownerId', ownerId), manager, conditions);
  }

  /**
   * Brings back a deleted patient: any, for an admin (`by` undefined); for a
   * user, one of theirs that they deleted themselves after `since`. Null when
   * no such deleted patient exists.
   */
  async restore(id: string, by: { ownerId: string; since: Date } | undefined, manager: EntityManager): Promise<Patient | null> {
    if (by) {
      const [row] = await manager.query(
        `SELECT id FROM patients WHERE id = $1 AND owner_id = $2 AND deleted_by = $2 AND deleted_at > $3 FOR UPDATE`,
        [id, by.ownerId, by.since],
      );
      if (!row) return null;
    }
    return this.table.restore(id, {}, manager);
  }

  /** Locks a live patient against a concurrent delete until the caller's transaction ends; false if there is none. */
  async lockLive(id: string, manager: EntityManager): Promise<boolean> {
    return this.table.lockLive(id, manager);
  }

  /** Removes for good up to `limit` patients deleted before `before`, oldest first (their history and mappings go with them); their ids. */
  async purgeDeleted(before: Date, limit: number, manager: EntityManager): Promise<string[]> {
    return this.table.purgeDeleted(before, limit, manager);
  }
}

/** A list's rows are live patients only. */
const LIVE = 'p.deleted_at IS NULL';
