import type { DeepPartial, ObjectLiteral, Repository } from 'typeorm';

/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A timestamp column's value as a Date: pg parses timestamptz already, PGlite and raw rows may give text. */
export function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

/**
 * An entity from a raw `RETURNING` row (keyed by column names), through the
 * entity's own column metadata, so services map rows in one place.
 */
export function entityFromRow<T extends ObjectLiteral>(repository: Repository<T>, row: Record<string, unknown>): T {
  const values: Record<string, unknown> = {};
  for (const column of repository.metadata.columns) {
    if (!Object.hasOwn(row, column.databaseName)) continue;
    const value = row[column.databaseName];
    values[column.propertyName] = column.type === 'timestamptz' && value !== null ? toDate(value) : value;
  }
  return repository.create(values as DeepPartial<T>);
}
