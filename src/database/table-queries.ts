import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, SelectQueryBuilder, WhereExpressionBuilder } from 'typeorm';
import type { Preconditions } from '../common/preconditions.js';
import { keysetOf, orderByKeyset, type PageRequest } from '../common/pagination/keyset-query.js';
import { EntityRows } from './entity-rows.js';
import type { PreparedSql } from './prepared-sql.js';

type Row = Record<string, unknown>;

/**
 * A list's filters: per filter field, its WHERE condition, whose one named
 * parameter has the field's name (`p.owner_id = :ownerId`), and optionally
 * how the field's value becomes the parameter's (a search pattern).
 */
export type ListConditions<F> = { [K in keyof F]-?: string | { where: string; value: (v: NonNullable<F[K]>) => unknown } };

/** A list query of a table: its name, alias, select list and joins, and filters. */
export interface ListQuery<T extends ObjectLiteral, F> {
  /** Names the query among the table's lists (one per select list). */
  name: string;
  alias: string;
  /** Adds the select list (and joins) to a builder of this table under `alias`. */
  select: (qb: SelectQueryBuilder<T>) => SelectQueryBuilder<T>;
  conditions: ListConditions<F>;
  /** A condition every page of this list has, whatever the filters (`p.deleted_at IS NULL`: live rows only). */
  always?: string;
}

/** The finished SQL of one list shape, and which parameter each of its $n is. */
interface ListShape {
  text: string;
  names: string[];
}

/** Distinct list shapes remembered per table; past this (more filter combinations than any client sends), SQL is built each time. */
const MAX_SHAPES = 500;

/** Stands for a parameter while a shape's SQL is built, so its $n can be told apart. */
class Placeholder {
  constructor(readonly name: string) {}
}

/**
 * The query shapes every table's repository shares, written once: a keyset
 * list page run as a prepared statement (a search under its own statement
 * timeout), and the INSERT/UPDATE/DELETE ... RETURNING that give back whole
 * entities through the table's EntityRows. A write is optionally scoped
 * (`{ ownerId }`): a row outside the scope is "no row matched".
 */
export class TableQueries<T extends ObjectLiteral> {
  readonly rows: EntityRows<T>;
  private readonly shapes = new Map<string, ListShape>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: PreparedSql,
    private readonly target: EntityTarget<T>,
  ) {
    this.rows = new EntityRows(dataSource, target);
  }

  /** A query builder on this table under `alias`. */
  select(alias: string): SelectQueryBuilder<T> {
    return this.dataSource.createQueryBuilder(this.target, alias);
  }

  /**
   * One keyset page of a list (up to pageSize + 1 rows, in SQL order: see
   * pageOf), as rows keyed by column name, run as a prepared statement; a
   * search runs on the searches' connections, under
   * SEARCH_STATEMENT_TIMEOUT_MS. The SQL text depends only on which filters
   * are given, the ordering, the direction and whether there is a cursor (the
   * LIMIT is a parameter): it is built with the query builder once per such
   * shape and then reused with each request's values.
   */
  async listPageRows<F>(query: ListQuery<T, F>, filter: F, page: PageRequest, searching: boolean): Promise<Row[]> {
    const params: Row = {};
    let filters = '';
    for (const key of Object.keys(query.conditions) as Array<keyof F & string>) {
      const value = filter[key];
      if (value === undefined) continue;
      const condition = query.conditions[key];
      params[key] = typeof condition === 'string' ? value : condition.value(value as NonNullable<F[typeof key]>);
      filters += `${key},`;
    }
    const keyset = keysetOf(page);
    if (keyset.boundary) Object.assign(params, { cursorValue: keyset.boundary.value, cursorId: keyset.boundary.id });
    const key = `${query.name}|${filters}|${page.ordering.key}|${keyset.descending ? 'desc' : 'asc'}|${keyset.boundary ? 'after' : 'first'}`;
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      shape = this.buildShape(query, params, page, keyset);
      if (this.shapes.size < MAX_SHAPES) this.shapes.set(key, shape);
    }
    const values = shape.names.map((name) => params[name]);
    values.push(page.pageSize + 1);
    // A list page may be slightly stale: one on a replica when the request allows it (PreparedSql.read).
    return this.sql.read(shape.text, values, searching);
  }

  private buildShape<F>(query: ListQuery<T, F>, params: Row, page: PageRequest, keyset: ReturnType<typeof keysetOf>): ListShape {
    const qb = query.select(this.select(query.alias));
    if (query.always) qb.andWhere(query.always);
    for (const key of Object.keys(params)) {
      const condition = query.conditions[key as keyof F] as ListConditions<F>[keyof F] | undefined;
      if (condition !== undefined) qb.andWhere(typeof condition === 'string' ? condition : condition.where);
    }
    orderByKeyset(qb, query.alias, page.ordering.field, keyset);
    qb.setParameters(Object.fromEntries(Object.keys(params).map((name) => [name, new Placeholder(name)])));
    const [text, values] = qb.getQueryAndParameters();
    const names = values.map((value: unknown) => {
      if (!(value instanceof Placeholder)) throw new Error(`List ${query.name}: a parameter of its SQL is not one of its filters`);
      return value.name;
    });
    return { text: `${text} LIMIT $${names.length + 1}`, names };
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

  /**
   * UPDATE ... RETURNING of the row with this id (within `scope`, and passing
   * `conditions` on its version); null when no row matched. Sets updated_at;
   * on a versioned table (a `version` column) also `version = version + 1`,
   * in the same statement as the check, so two writers holding the same
   * version cannot both succeed. On a table whose rows are deleted by marking
   * them (a `deletedAt` column), only a live row matches.
   */
  async update(id: string, changes: Partial<T>, scope: Partial<T>, manager: EntityManager, conditions: Preconditions = {}): Promise<T | null> {
    return this.change(id, changes, scope, manager, conditions, 'live');
  }

  /**
   * Marks the live row with this id deleted (deleted_at = now(), deleted_by),
   * within `scope` and passing `conditions`, as one UPDATE that also moves the
   * version; the row as marked, or null when no live row matched.
   */
  async softDelete(id: string, deletedById: string, scope: Partial<T>, manager: EntityManager, conditions: Preconditions = {}): Promise<T | null> {
    const changes = { deletedAt: () => 'now()', deletedById } as unknown as Partial<T>;
    return this.change(id, changes, scope, manager, conditions, 'live');
  }

  /** Brings back the row with this id if it is marked deleted (within `scope`), moving its version; null when no deleted row matched. */
  async restore(id: string, scope: Partial<T>, manager: EntityManager): Promise<T | null> {
    const changes = { deletedAt: null, deletedById: null } as unknown as Partial<T>;
    return this.change(id, changes, scope, manager, {}, 'deleted');
  }

  private async change(
    id: string,
    changes: Partial<T>,
    scope: Partial<T>,
    manager: EntityManager,
    conditions: Preconditions,
    rows: 'live' | 'deleted',
  ): Promise<T | null> {
    const set: Record<string, unknown> = { ...changes, updatedAt: () => 'now()' };
    if (this.versioned) set.version = () => 'version + 1';
    const qb = manager
      .createQueryBuilder()
      .update(this.target)
      .set(set as never)
      .where({ ...scope, id });
    if (this.softDeletes) qb.andWhere(rows === 'live' ? 'deleted_at IS NULL' : 'deleted_at IS NOT NULL');
    else if (rows === 'deleted') throw new Error('A restore on a table whose rows are not marked deleted');
    this.whereVersion(qb, conditions);
    const [row] = (await qb.returning(this.rows.returning()).execute()).raw as Row[];
    return row ? this.rows.fromRow(row) : null;
  }

  /**
   * DELETE ... RETURNING of the row with this id (within `scope`, and passing
   * `conditions` on its version); the deleted entity, or null. Removes the
   * row for good: on a table whose rows are marked deleted, only the purge
   * (and mappings, which have no mark) use it.
   */
  async delete(id: string, scope: Partial<T>, manager: EntityManager, conditions: Preconditions = {}): Promise<T | null> {
    const qb = manager.createQueryBuilder().delete().from(this.target).where({ ...scope, id });
    this.whereVersion(qb, conditions);
    const [row] = (await qb.returning(this.rows.returning()).execute()).raw as Row[];
    return row ? this.rows.fromRow(row) : null;
  }

  /** Locks the live row with this id against a concurrent delete (FOR SHARE) until `manager`'s transaction ends; false if there is none. */
  async lockLive(id: string, manager: EntityManager): Promise<boolean> {
    if (!this.softDeletes) throw new Error('lockLive on a table whose rows are not marked deleted');
    const rows: unknown[] = await manager.query(`SELECT 1 FROM ${this.tableName} WHERE id = $1 AND deleted_at IS NULL FOR SHARE`, [id]);
    return rows.length > 0;
  }

  /**
   * Removes for good up to `limit` rows marked deleted before `before`,
   * oldest first, skipping rows another transaction holds (what cascades
   * from them goes too); their ids.
   */
  async purgeDeleted(before: Date, limit: number, manager: EntityManager): Promise<string[]> {
    if (!this.softDeletes) throw new Error('purgeDeleted on a table whose rows are not marked deleted');
    const table = this.tableName;
    const rows: Array<{ id: string }> = await manager.query(
      `WITH gone AS (
         DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE deleted_at < $1 ORDER BY deleted_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id
       ) SELECT id FROM gone`,
      [before, limit],
    );
    return rows.map((r) => r.id);
  }

  /** The table's name, from the entity's metadata (never client input). */
  private get tableName(): string {
    return this.dataSource.getMetadata(this.target).tableName;
  }

  private get softDeletes(): boolean {
    return this.dataSource.getMetadata(this.target).findColumnWithPropertyName('deletedAt') !== undefined;
  }

  private get versioned(): boolean {
    return this.dataSource.getMetadata(this.target).findColumnWithPropertyName('version') !== undefined;
  }

  /** If-Match: the version is one of those named (any, for `*`); If-None-Match: it is none of them (`*`: no row passes). */
  private whereVersion(qb: WhereExpressionBuilder, { ifMatch, ifNoneMatch }: Preconditions): void {
    if (ifMatch === undefined && ifNoneMatch === undefined) return;
    if (!this.versioned) throw new Error('A condition on the version of a table without versions');
    if (Array.isArray(ifMatch)) qb.andWhere('version = ANY(:ifMatch)', { ifMatch });
    if (ifNoneMatch === '*') qb.andWhere('FALSE');
    else if (ifNoneMatch !== undefined) qb.andWhere('NOT (version = ANY(:ifNoneMatch))', { ifNoneMatch });
  }
}

/** `{ [property]: value }` when a value is given, else no scope. */
export function scopeOf<T>(property: keyof T, value: string | undefined): Partial<T> {
  return value === undefined ? {} : ({ [property]: value } as Partial<T>);
}
