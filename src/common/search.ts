import { applyDecorators } from '@nestjs/common';
import { Matches } from 'class-validator';
import { likeEscape } from './sql.js';

/**
 * Searches and the trigram indexes (issue 11, item 9). pg_trgm makes
 * trigrams of letters and digits only: a term of `%`, `_`, spaces or other
 * punctuation gives the index nothing to look up, and PostgreSQL would scan
 * the whole table (about 300 ms per request over 50,000 rows).
 *
 * - A term with SEARCH_MIN_RUN letters or digits in a row is a
 *   case-insensitive substring match: its trigrams narrow the index scan.
 * - A term with fewer (e.g. "Jo", "5") matches names that start with it: a
 *   pattern anchored at the start still gives the index the word-start
 *   trigrams ("  j", " jo").
 * - A term without any letter or digit is refused with 400 (IsSearchTerm).
 */
export const SEARCH_MIN_RUN = 3;

/** Empty is "no search", as before. */
const EMPTY_OR_HAS_WORD_CHAR = /^$|[\p{L}\p{N}]/u;
const HAS_RUN = new RegExp(`[\\p{L}\\p{N}]{${SEARCH_MIN_RUN}}`, 'u');

/** The ILIKE pattern for a search term (wildcards in the term match literally). */
export function searchPattern(term: string): string {
  const escaped = likeEscape(term);
  return HAS_RUN.test(term) ? `%${escaped}%` : `${escaped}%`;
}

/** On a `search` query parameter: a term with no letter or digit is a 400 naming the field. */
export function IsSearchTerm(): PropertyDecorator {
  return applyDecorators(
    Matches(EMPTY_OR_HAS_WORD_CHAR, { message: 'search must contain at least one letter or digit' }),
  ) as PropertyDecorator;
}
