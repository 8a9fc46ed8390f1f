import { applyDecorators } from '@nestjs/common';
import { Matches, ValidateBy } from 'class-validator';
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
 * - So is a term with more than SEARCH_MAX_OTHER_CHARS spaces, punctuation or
 *   symbols, or more combining marks than letters: those characters add no
 *   trigram, only pattern length. `ace` + 197 `%` let the index return the
 *   fifth of the rows that contain "ace", each then compared with a
 *   400-character pattern that matches none: 130 ms p50, 58 ms of database
 *   CPU per request against 2.5 ms for "ace". A term of letters and digits
 *   may be long (200 "a" cost as little as 3): its trigrams narrow the scan.
 */
export const SEARCH_MIN_RUN = 3;

/** Spaces, punctuation and symbols a term may hold: "María José de la Cruz-García" has 5, "O'Brien" 1. */
export const SEARCH_MAX_OTHER_CHARS = 10;

/** Empty is "no search", as before. */
const EMPTY_OR_HAS_WORD_CHAR = /^$|[\p{L}\p{N}]/u;
const HAS_RUN = new RegExp(`[\\p{L}\\p{N}]{${SEARCH_MIN_RUN}}`, 'u');
const OTHER = /[^\p{L}\p{N}\p{M}]/gu;
const MARK = /\p{M}/gu;
const LETTER = /\p{L}/gu;

/** The ILIKE pattern for a search term (wildcards in the term match literally). */
export function searchPattern(term: string): string {
  const escaped = likeEscape(term);
  return HAS_RUN.test(term) ? `%${escaped}%` : `${escaped}%`;
}

/** True when a term's non-word characters stay within the bounds above (names with marks, such as Devanagari, pass). */
export function isAffordableSearch(term: string): boolean {
  const count = (re: RegExp) => term.match(re)?.length ?? 0;
  return count(OTHER) <= SEARCH_MAX_OTHER_CHARS && count(MARK) <= count(LETTER);
}

/** On a `search` query parameter: a term with no letter or digit, or too much punctuation, is a 400 naming the field. */
export function IsSearchTerm(): PropertyDecorator {
  return applyDecorators(
    Matches(EMPTY_OR_HAS_WORD_CHAR, { message: 'search must contain at least one letter or digit' }),
    ValidateBy(
      { name: 'isAffordableSearch', validator: { validate: (value: unknown) => typeof value !== 'string' || isAffordableSearch(value) } },
      {
        message: `search may hold at most ${SEARCH_MAX_OTHER_CHARS} spaces, punctuation or symbol characters, and no more combining marks than letters`,
      },
    ),
  ) as PropertyDecorator;
}
