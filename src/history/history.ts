import type { FieldChange } from './history.entity.js';

/**
 * The fields of `fields` whose values differ between two states of a record,
 * each as {from, to}; `before` null (a create): every field, from null.
 * Values compare as JSON would store them (a Date by its instant).
 */
export function changesBetween<T extends object>(before: T | null, after: T, fields: readonly (keyof T & string)[]): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const field of fields) {
    const from = before === null ? null : before[field];
    const to = after[field];
    if (before !== null && JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[field] = { from: from ?? null, to: to ?? null };
  }
  return changes;
}
