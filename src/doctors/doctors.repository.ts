import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { Preconditions } from '../common/preconditions.js';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { searchPattern } from '../common/search.js';
import { EntityRows } from '../database/entity-rows.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { type ListQuery, scopeOf, TableQueries } from '../database/table-queries.js';
import { Doctor } from './doctor.entity.js';
import { DOCTOR_SORTS } from './dto/list-doctors.dto.js';

export interface DoctorFilter {
  /** Name or specialization. */
  search?: string;
  /** Case-insensitive exact specialization. */
  specialization?: string;
}

export type NewDoctor = Pick<Doctor, 'name' | 'specialization' | 'email' | 'phone' | 'createdById'>;
export type DoctorChanges = Partial<Pick<Doctor, 'name' | 'specialization' | 'email' | 'phone'>>;

/**
 * Every query on `doctors`. Reads (`find*`, `list*`, `exists*`) may later go
 * to a replica; writes run in the caller's transaction. The list pages run as
 * named prepared statements.
 */
@Injectable()
export class DoctorsRepository {
  private readonly table: TableQueries<Doctor>;
  private statements?: { sortFields: Record<string, SortField>; deletedSort: Record<string, SortField>; byId: string };

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly sql: PreparedSql,
  ) {
    this.table = new TableQueries(dataSource, sql, Doctor);
  }

  private get rows(): EntityRows<Doctor> {
    return this.table.rows;
  }

  /** Built on first use, from metadata that exists once the database is connected (see EntityRows). */
  private get built() {
    this.statements ??= {
      sortFields: this.rows.sortFields(DOCTOR_SORTS),
      deletedSort: this.rows.sortFields({ deleted_at: 'deletedAt' }),
      // Live doctors only: a deleted one is not found, as before deletes could be undone.
      byId: `SELECT ${this.rows.selectList('doctors')} FROM doctors WHERE id = $1 AND deleted_at IS NULL`,
    };
    return this.statements;
  }

  get sortFields(): Record<string, SortField> {
    return this.built.sortFields;
  }

  /** The deleted list's one ordering, `deleted_at`. */
  get deletedSortFields(): Record<string, SortField> {
    return this.built.deletedSort;
  }

  async findById(id: string): Promise<Doctor | null> {
    const [row] = await this.sql.query(this.built.byId, [id]);
    return row ? this.rows.fromRow(row) : null;
  }

  /** The doctor (one this user created, when one is given), its row locked until the caller's transaction ends: what a change starts from. */
  async findForUpdate(id: string, createdById: string | undefined, manager: EntityManager): Promise<Doctor | null> {
    const [row] =
      createdById === undefined
        ? await manager.query(`${this.built.byId} FOR UPDATE`, [id])
        : await manager.query(`${this.built.byId} AND created_by = $2 FOR UPDATE`, [id, createdById]);
    return row ? this.rows.fromRow(row) : null;
  }

  /** One keyset page (up to pageSize + 1 rows, in SQL order: see pageOf). */
  async listPage(filter: DoctorFilter, page: PageRequest): Promise<Doctor[]> {
    const rows = await this.table.listPageRows(this.list, filter, page, filter.search !== undefined);
    return rows.map((row) => this.rows.fromRow(row));
  }

  /** One keyset page of the deleted doctors, for the admins' Deleted list. */
  async listDeletedPage(page: PageRequest): Promise<Doctor[]> {
    const rows = await this.table.listPageRows(this.deletedList, {}, page, false);
    return rows.map((row) => this.rows.fromRow(row));
  }

  private readonly deletedList: ListQuery<Doctor, object> = {
    name: 'doctors-deleted',
    alias: 'd',
    always: 'd.deleted_at IS NOT NULL',
    select: (qb) => qb.select(this.rows.selectList('d')),
    conditions: {},
  };

  private readonly list: ListQuery<Doctor, DoctorFilter> = {
    name: 'doctors',
    alias: 'd',
    always: 'd.deleted_at IS NULL',
    select: (qb) => qb.select(this.rows.selectList('d')),
    conditions: {
      search: { where: '(d.name ILIKE :search OR d.specialization ILIKE :search)', value: searchPattern },
      specialization: 'lower(d.specialization) = lower(:specialization)',
    },
  };

  insert(values: NewDoctor, manager: EntityManager): Promise<Doctor> {
    return this.table.insert(values, manager);
  }

  /** Changes the doctor (one this user created, when one is given); null when no row matched (also when its version fails `conditions`). */
  update(id: string, changes: DoctorChanges, createdById: string | undefined, manager: EntityManager, conditions?: Preconditions): Promise<Doctor | null> {
    return this.table.update(id, changes, scopeOf<Doctor>('createdById', createdById), manager, conditions);
  }

  /** Marks the live doctor (one this user created, when one is given) deleted by this user; null when no live row matched (also when its version fails `conditions`). */
  softDelete(id: string, deletedById: string, createdById: string | undefined, manager: EntityManager, conditions?: Preconditions): Promise<Doctor | null> {
    return this.table.softDelete(id, deletedById, scopeOf<Doctor>('createdById', createdById), manager, conditions);
  }

  /** Brings back a deleted doctor; null when there is no deleted doctor with this id. Throws a unique violation when a live doctor has its email. */
  restore(id: string, manager: EntityManager): Promise<Doctor | null> {
    return this.table.restore(id, {}, manager);
  }

  /** Locks a live doctor against a concurrent delete until the caller's transaction ends; false if there is none. */
  async lockLive(id: string, manager: EntityManager): Promise<boolean> {
    return this.table.lockLive(id, manager);
  }

  /** Removes for good up to `limit` doctors deleted before `before`, oldest first (their history and mappings go with them); their ids. */
  async purgeDeleted(before: Date, limit: number, manager: EntityManager): Promise<string[]> {
    return this.table.purgeDeleted(before, limit, manager);
  }
}
