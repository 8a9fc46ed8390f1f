import { describe, expect, it } from '@jest/globals';
import { IsOptional, IsString, validateSync } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { isAffordableSearch, IsSearchTerm, SEARCH_MAX_OTHER_CHARS, searchPattern } from './search.js';

class Query {
  @IsOptional()
  @IsString()
  @IsSearchTerm()
  search?: string;
}

/** The messages a `search` value gets, [] when accepted. */
function refusals(search: string): string[] {
  const errors = validateSync(plainToInstance(Query, { search }));
  return errors.flatMap((e) => Object.values(e.constraints ?? {}));
}

describe(IsSearchTerm.name, () => {
  it.each([
    "O'Brien",
    'Jean-Luc',
    'Anne Marie',
    'María José de la Cruz-García',
    'Nguyễn',
    'Nguye\u0302\u0303n', // decomposed (NFD): two marks on one letter
    'श्रीमती अनुराधा',
    '王小明',
    'Müller',
    '100%',
    'snake_case',
    'a'.repeat(200),
    '',
  ])('accepts %j', (search) => {
    expect(refusals(search)).toEqual([]);
  });

  it.each([
    ['ace + 197 %', `ace${'%'.repeat(197)}`],
    ['ace + 11 %', `ace${'%'.repeat(SEARCH_MAX_OTHER_CHARS + 1)}`],
    ['letters between 100 %', 'a%'.repeat(100)],
    ['ace + 11 spaces', `ace${' '.repeat(SEARCH_MAX_OTHER_CHARS + 1)}x`],
    ['ace + 20 combining marks', `ace${'\u0301'.repeat(20)}`],
  ])('refuses %s, naming search', (_name, search) => {
    const messages = refusals(search);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^search may hold at most 10 spaces, punctuation or symbol characters/);
  });

  it('still refuses a term without a letter or digit with its own message', () => {
    expect(refusals('%'.repeat(200))).toContain('search must contain at least one letter or digit');
  });
});

describe(isAffordableSearch.name, () => {
  it('allows exactly the maximum of other characters', () => {
    expect(isAffordableSearch(`ace${'%'.repeat(SEARCH_MAX_OTHER_CHARS)}`)).toBe(true);
    expect(isAffordableSearch(`ace${'%'.repeat(SEARCH_MAX_OTHER_CHARS + 1)}`)).toBe(false);
  });

  it('allows as many marks as letters, not more', () => {
    expect(isAffordableSearch('ab\u0301\u0301')).toBe(true);
    expect(isAffordableSearch('a\u0301\u0301')).toBe(false);
  });
});

describe(searchPattern.name, () => {
  it('matches a run of 3 letters anywhere, a shorter term as a prefix, wildcards literally', () => {
    expect(searchPattern('ann')).toBe('%ann%');
    expect(searchPattern('Jo')).toBe('Jo%');
    expect(searchPattern('50%')).toBe('50\\%%');
  });
});
