import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { SortField, SortKind } from '../common/pagination/keyset-query.js';
import { toDate } from '../common/sql.js';

const DATE_TYPES = new Set<unknown>(['timestamptz', 'timestamp', 'timestamp with time zone', 'date', Date]);
const NUMBER_TYPES = new Set<unknown>(['smallint', 'int', 'integer', 'int2', 'int4', Number]);

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * How rows of one table become entities, derived from TypeORM's metadata for
 * the entity: every repository selects the column lists built here and maps
 * what comes back here, whether the rows came from a SELECT (prepared or
 * not), a RETURNING clause or a join. Rows are keyed by column name (plus a
 * prefix of our choosing for joined tables), never by TypeORM's own aliases.
 */
export class EntityRows<T extends ObjectLiteral> {
  private cached?: { metadata: EntityMetadata; columns: ColumnMetadata[] };
  // Built once per shape: a list page asks for the same select list and mapping on every request.
  private readonly selectLists = new Map<string, string>();
  private readonly mappings = new Map<string, Array<{ key: string; property: string; date: boolean }>>();

  // Read on first use, not here: a server that starts while PostgreSQL is down has no metadata until it connects.
  constructor(
    private readonly dataSource: DataSource,
    private readonly target: EntityTarget<T>,
  ) {}

  get metadata(): EntityMetadata {
    return this.resolved().metadata;
  }

  /** Every column a row may carry (hidden ones, `select: false`, only when asked for by name). */
  private get columns(): ColumnMetadata[] {
    return this.resolved().columns;
  }

  private resolved(): { metadata: EntityMetadata; columns: ColumnMetadata[] } {
    if (!this.cached) {
      const metadata = this.dataSource.getMetadata(this.target);
      const columns = metadata.columns.filter((c) => !c.relationMetadata || c.propertyName !== c.relationMetadata.propertyName);
      this.cached = { metadata, columns };
    }
    return this.cached;
  }

  /** The column behind an entity property; throws on a typo, at start-up. */
  column(property: string): ColumnMetadata {
    const column = this.columns.find((c) => c.propertyName === property);
    if (!column) throw new Error(`${this.metadata.name} has no column for property ${property}`);
    return column;
  }

  private chosen(properties?: readonly string[]): ColumnMetadata[] {
    return properties ? properties.map((p) => this.column(p)) : this.columns.filter((c) => c.isSelect);
  }

  /**
   * A SELECT list: `"p"."owner_id" AS "owner_id", ...`, each column under its
   * own name behind `prefix` (e.g. "owner." for a joined user).
   */
  selectList(alias: string, prefix = '', properties?: readonly string[]): string {
    const cacheKey = JSON.stringify([alias, prefix, properties ?? null]);
    let list = this.selectLists.get(cacheKey);
    if (list === undefined) {
      list = this.chosen(properties)
        .map((c) => `${quote(alias)}.${quote(c.databaseName)} AS ${quote(prefix + c.databaseName)}`)
        .join(', ');
      this.selectLists.set(cacheKey, list);
    }
    return list;
  }

  /** A RETURNING list of the visible columns: `"id", "owner_id", ...`. */
  returning(): string {
    return this.chosen().map((c) => quote(c.databaseName)).join(', ');
  }

  /** An entity from a row keyed by column name (behind `prefix`); columns the row lacks stay unset. */
  fromRow(row: Record<string, unknown>, prefix = ''): T {
    const entity = this.metadata.create() as Record<string, unknown>;
    for (const { key, property, date } of this.mapping(prefix)) {
      if (!Object.hasOwn(row, key)) continue;
      const value = row[key];
      entity[property] = value !== null && date ? toDate(value) : value;
    }
    return entity as T;
  }

  private mapping(prefix: string): Array<{ key: string; property: string; date: boolean }> {
    let mapping = this.mappings.get(prefix);
    if (!mapping) {
      mapping = this.columns.map((c) => ({ key: prefix + c.databaseName, property: c.propertyName, date: DATE_TYPES.has(c.type) }));
      this.mappings.set(prefix, mapping);
    }
    return mapping;
  }

  /** The sort fields of a list, declared once as wire name -> entity property; column and kind come from metadata. */
  sortFields(sorts: Record<string, string>): Record<string, SortField> {
    return Object.fromEntries(
      Object.entries(sorts).map(([wire, property]) => {
        const column = this.column(property);
        const kind: SortKind = DATE_TYPES.has(column.type) ? 'date' : NUMBER_TYPES.has(column.type) ? 'number' : 'string';
        return [wire, { column: column.databaseName, property, kind }];
      }),
    );
  }
}
