/** True for a string PostgreSQL cannot store as sent: one with a NUL character or a lone UTF-16 surrogate. */
export function isUnstorable(s: string): boolean {
  return s.includes('\u0000') || !s.isWellFormed();
}

/** Field names longer than this are cut where an error names them: an error never echoes a 100 KB key. */
const LABEL_LENGTH = 64;

/**
 * A field name (or JSON path) as an error may show it: unstorable characters
 * as JSON escapes (`na\u0000me`), cut when very long.
 */
export function fieldLabel(name: string): string {
  const printable = isUnstorable(name) ? JSON.stringify(name).slice(1, -1) : name;
  return printable.length > LABEL_LENGTH ? `${printable.slice(0, LABEL_LENGTH)}…` : printable;
}
