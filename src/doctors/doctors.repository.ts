import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { applyKeyset, type PageRequest, type SortField } from '../common/pagination/keyset-query.js';
import { searchPattern } from '../common/search.js';
import { EntityRows } from '../database/entity-rows.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { SEARCH_STATEMENT_TIMEOUT_MS, withStatementTimeout } from '../database/statement-timeout.js';
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
  private readonly rows: EntityRows<Doctor>;
  private statements?: { sortFields: Record<string, SortField>; byId: string };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: PreparedSql,
  ) {
    this.rows = new EntityRows(dataSource, Doctor);
  }

  /** Built on first use, from metadata that exists once the database is connected (see EntityRows). */
  private get built() {
    this.statements ??= {
      sortFields: this.rows.sortFields(DOCTOR_SORTS),
      byId: `SELECT ${this.rows.selectList('doctors')} FROM doctors WHERE id = $1`,
    };
    return this.statements;
  }

  get sortFields(): Record<string, SortField> {
    return this.built.sortFields;
  }

  async findById(id: string): Promise<Doctor | null> {
    const [row] = await this.sql.query(this.built.byId, [id]);
    return row ? this.rows.fromRow(row) : null;
  }

  async existsById(id: string): Promise<boolean> {
    return (await this.sql.query(`SELECT 1 FROM doctors WHERE id = $1`, [id])).length > 0;
  }

  /** One keyset page (up to pageSize + 1 rows, in SQL order: see pageOf). */
  async listPage(filter: DoctorFilter, page: PageRequest): Promise<Doctor[]> {
    const qb = this.dataSource.createQueryBuilder(Doctor, 'd').select(this.rows.selectList('d'));
    if (filter.search !== undefined) {
      qb.andWhere('(d.name ILIKE :search OR d.specialization ILIKE :search)', { search: searchPattern(filter.search) });
    }
    if (filter.specialization !== undefined) {
      qb.andWhere('lower(d.specialization) = lower(:specialization)', { specialization: filter.specialization });
    }
    return (await this.run(applyKeyset(qb, 'd', page), filter)).map((row) => this.rows.fromRow(row));
  }

  /** The finished builder's SQL as a prepared statement; a search under its own timeout. */
  private async run(qb: SelectQueryBuilder<Doctor>, filter: DoctorFilter): Promise<Record<string, unknown>[]> {
    const [text, params] = qb.getQueryAndParameters();
    if (filter.search === undefined) return this.sql.query(text, params);
    return withStatementTimeout(this.dataSource, SEARCH_STATEMENT_TIMEOUT_MS, (m) => this.sql.query(text, params, m));
  }

  async insert(values: NewDoctor, manager: EntityManager): Promise<Doctor> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(Doctor)
      .values(values)
      .returning(this.rows.returning())
      .execute();
    return this.rows.fromRow((result.raw as Record<string, unknown>[])[0]);
  }

  /** Changes the doctor (one this user created, when one is given); null when no row matched. */
  async update(id: string, changes: DoctorChanges, createdById: string | undefined, manager: EntityManager): Promise<Doctor | null> {
    const qb = manager
      .createQueryBuilder()
      .update(Doctor)
      .set({ ...changes, updatedAt: () => 'now()' })
      .where('id = :id', { id });
    if (createdById !== undefined) qb.andWhere('created_by = :createdById', { createdById });
    const [row] = (await qb.returning(this.rows.returning()).execute()).raw as Record<string, unknown>[];
    return row ? this.rows.fromRow(row) : null;
  }

  /** Deletes the doctor (one this user created, when one is given); false when no row matched. */
  async delete(id: string, createdById: string | undefined, manager: EntityManager): Promise<boolean> {
    const qb = manager.createQueryBuilder().delete().from(Doctor).where('id = :id', { id });
    if (createdById !== undefined) qb.andWhere('created_by = :createdById', { createdById });
    return Boolean((await qb.execute()).affected);
  }
}
