import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { applyKeyset, type PageRequest } from '../common/pagination/keyset-query.js';
import { EntityRows } from './entity-rows.js';
import type { PreparedSql } from './prepared-sql.js';

type Row = Record<string, unknown>;

/**
 * The query shapes every table's repository shares, written once: a keyset
 * list page run as a prepared statement (a search under its own statement
 * timeout), and the INSERT/UPDATE/DELETE ... RETURNING that give back whole
 * entities through the table's EntityRows. A write is optionally scoped
 * (`{ ownerId }`): a row outside the scope is "no row matched".
 */
export class TableQueries<T extends ObjectLiteral> {
  readonly rows: EntityRows<T>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: PreparedSql,
    private readonly target: EntityTarget<T>,
  ) {
    this.rows = new EntityRows(dataSource, target);
  }

  /** A query builder on this table under `alias`, for the repository to filter. */
  select(alias: string): SelectQueryBuilder<T> {
    return this.dataSource.createQueryBuilder(this.target, alias);
  }

  /**
   * One keyset page of a filtered builder (up to pageSize + 1 rows, in SQL
   * order: see pageOf), as rows keyed by column name. The finished SQL runs as
   * a prepared statement (a handful of texts per list); a search runs on the
   * searches' connections, under SEARCH_STATEMENT_TIMEOUT_MS.
   */
  async listPageRows(qb: SelectQueryBuilder<T>, alias: string, page: PageRequest, searching: boolean): Promise<Row[]> {
    const [text, params] = applyKeyset(qb, alias, page).getQueryAndParameters();
    return searching ? this.sql.search(text, params) : this.sql.query(text, params);
  }

  /** INSERT ... RETURNING the visible columns. Throws the database's error (a unique violation is the caller's to map). */
  async insert(values: Partial<T>, manager: EntityManager): Promise<T> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(this.target)
      .values(values)
      .returning(this.rows.returning())
      .execute();
    return this.rows.fromRow((result.raw as Row[])[0]);
  }

  /** UPDATE ... RETURNING of the row with this id (within `scope`); null when no row matched. `touch` also sets updated_at. */
  async update(id: string, changes: Partial<T>, scope: Partial<T>, manager: EntityManager, touch = true): Promise<T | null> {
    const qb = manager
      .createQueryBuilder()
      .update(this.target)
      .set(touch ? { ...changes, updatedAt: () => 'now()' } : changes)
      .where({ ...scope, id });
    const [row] = (await qb.returning(this.rows.returning()).execute()).raw as Row[];
    return row ? this.rows.fromRow(row) : null;
  }

  /** DELETE ... RETURNING of the row with this id (within `scope`); the deleted entity, or null. */
  async delete(id: string, scope: Partial<T>, manager: EntityManager): Promise<T | null> {
    const qb = manager.createQueryBuilder().delete().from(this.target).where({ ...scope, id });
    const [row] = (await qb.returning(this.rows.returning()).execute()).raw as Row[];
    return row ? this.rows.fromRow(row) : null;
  }
}

/** `{ [property]: value }` when a value is given, else no scope. */
export function scopeOf<T>(property: keyof T, value: string | undefined): Partial<T> {
  return value === undefined ? {} : ({ [property]: value } as Partial<T>);
}
