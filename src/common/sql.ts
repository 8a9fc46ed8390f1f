/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". */
export function likeEscape(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A substring ILIKE pattern for `term`, wildcards in it matched literally. */
export function likeContains(term: string): string {
  return `%${likeEscape(term)}%`;
}

/** A timestamp column's value as a Date: pg parses timestamptz already, PGlite and raw rows may give text. */
export function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}
